//! A display filter's common tests allocate nothing per packet: the values are read into
//! per-thread scratch vectors that are reused (counted with a counting global allocator, on
//! the test's own thread only: the harness's threads allocate when they like, which made a
//! loaded machine report a few allocations that were not the filter's).

use std::alloc::{GlobalAlloc, Layout, System};
use std::borrow::Cow;
use std::cell::Cell;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};

use tcplens::dfilter::DisplayFilter;
use tcplens::fields::{FieldId, FieldSource, Value, lookup};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Set on the thread whose allocations count (const, so reading it never allocates).
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTED.with(Cell::get) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

struct Segment {
    port: FieldId,
    dstport: FieldId,
    flags: FieldId,
    addr: FieldId,
    payload: FieldId,
    bytes: Vec<u8>,
}

impl FieldSource for Segment {
    fn values<'s>(&'s self, field: FieldId, out: &mut Vec<Value<'s>>) {
        if field == self.port {
            out.extend([Value::UInt(5201), Value::UInt(5200)]);
        } else if field == self.dstport {
            out.push(Value::UInt(5200));
        } else if field == self.flags {
            out.push(Value::UInt(0x18));
        } else if field == self.addr {
            out.extend([
                Value::Ipv4(Ipv4Addr::new(10, 0, 0, 1)),
                Value::Ipv4(Ipv4Addr::new(10, 0, 0, 2)),
            ]);
        } else if field == self.payload {
            out.push(Value::Bytes(Cow::Borrowed(&self.bytes)));
        }
    }
}

#[test]
fn common_tests_allocate_nothing_per_packet() {
    COUNTED.with(|c| c.set(true));
    let seg = Segment {
        port: lookup("tcp.port").unwrap(),
        dstport: lookup("tcp.dstport").unwrap(),
        flags: lookup("tcp.flags").unwrap(),
        addr: lookup("ip.addr").unwrap(),
        payload: lookup("tcp.payload").unwrap(),
        bytes: b"GET / HTTP/1.1\r\n".to_vec(),
    };
    for expr in [
        "tcp.port == 5200",
        "tcp.port != 80",
        "all tcp.port > 1024",
        "tcp.dstport",
        "not udp",
        "tcp.flags & 0x02",
        "tcp.flags & 0x12 == 0x10",
        "tcp.port in {80, 443, 5000..6000}",
        "ip.addr == 10.0.0.0/8 and tcp.dstport != 22",
        "tcp.payload contains \"HTTP\"",
        "tcp.payload matches \"^get\"",
        "tcp.payload[0:3] == \"GET\"",
        "tcp.dstport > tcp.port",
        "tcp.dstport + 1 == 5201",
    ] {
        let f = DisplayFilter::compile(expr).unwrap();
        for _ in 0..10 {
            f.matches(&seg); // fills this thread's scratch vectors
        }
        let before = ALLOCS.load(Ordering::Relaxed);
        for _ in 0..1000 {
            std::hint::black_box(f.matches(std::hint::black_box(&seg)));
        }
        let n = ALLOCS.load(Ordering::Relaxed) - before;
        assert_eq!(n, 0, "{expr}: {n} allocations in 1000 packets");
    }
}
