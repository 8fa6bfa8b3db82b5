//! The display filter's cost per packet (`cargo bench --bench dfilter`): `matches` on a packet
//! whose FieldSource answers from decoded numbers, as the pipeline's does, for a plain
//! comparison, a multi-occurrence field, a logical mix, a payload search and a regex.
//!
//! `DFILTER_CPU=1 cargo bench --bench dfilter` measures on-CPU time instead of wall time (from
//! /proc/thread-self/schedstat), for a machine busy with other work.

use std::borrow::Cow;
use std::hint::black_box;
use std::net::Ipv4Addr;

use criterion::{Criterion, Throughput, criterion_group};
use tcplens::dfilter::DisplayFilter;
use tcplens::fields::{FieldId, FieldSource, Value, lookup};

struct Segment {
    ids: [FieldId; 8],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    flags: u16,
    payload: Vec<u8>,
}

impl FieldSource for Segment {
    fn values<'s>(&'s self, field: FieldId, out: &mut Vec<Value<'s>>) {
        let [tcp, port, srcport, dstport, flags, syn, addr, payload] = self.ids;
        if field == port {
            out.push(Value::UInt(u64::from(self.sport)));
            out.push(Value::UInt(u64::from(self.dport)));
        } else if field == srcport {
            out.push(Value::UInt(u64::from(self.sport)));
        } else if field == dstport {
            out.push(Value::UInt(u64::from(self.dport)));
        } else if field == flags {
            out.push(Value::UInt(u64::from(self.flags)));
        } else if field == syn {
            out.push(Value::Bool(self.flags & 2 != 0));
        } else if field == addr {
            out.push(Value::Ipv4(self.src));
            out.push(Value::Ipv4(self.dst));
        } else if field == payload {
            out.push(Value::Bytes(Cow::Borrowed(&self.payload)));
        } else if field == tcp {
            out.push(Value::Present(&[]));
        }
    }
}

fn segment() -> Segment {
    let id = |n| lookup(n).expect(n);
    Segment {
        ids: [
            id("tcp"),
            id("tcp.port"),
            id("tcp.srcport"),
            id("tcp.dstport"),
            id("tcp.flags"),
            id("tcp.flags.syn"),
            id("ip.addr"),
            id("tcp.payload"),
        ],
        src: Ipv4Addr::new(10, 0, 0, 1),
        dst: Ipv4Addr::new(10, 0, 0, 2),
        sport: 5201,
        dport: 5200,
        flags: 0x18,
        payload: b"GET /index.html HTTP/1.1\r\nHost: example\r\nUser-Agent: bench\r\n\r\n".to_vec(),
    }
}

const EXPRS: &[&str] = &[
    "tcp.port == 5200",
    "tcp.dstport == 80",
    "tcp.port != 5200",
    "tcp",
    "tcp.flags & 0x02",
    "tcp.port in {80, 443, 8000..8080}",
    "ip.addr == 10.0.0.0/8 and not tcp.flags.syn == 1",
    "tcp.payload contains \"Host\"",
    "tcp.payload matches \"user-agent: \\\\w+\"",
    "tcp.srcport + 1 == tcp.dstport + 2",
];

fn filters(c: &mut Criterion) {
    let seg = segment();
    let mut g = c.benchmark_group("dfilter");
    g.throughput(Throughput::Elements(1));
    for expr in EXPRS {
        let f = DisplayFilter::compile(expr).expect(expr);
        g.bench_function(*expr, |b| b.iter(|| black_box(f.matches(black_box(&seg)))));
    }
    g.finish();
}

/// This thread's time on a CPU, in nanoseconds.
fn cpu_ns() -> u64 {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").expect("schedstat");
    s.split_whitespace().next().unwrap().parse().unwrap()
}

fn cpu_times() {
    let seg = segment();
    const N: u32 = 5_000_000;
    // The floor: the packet's values read into a vector kept across packets.
    let port = lookup("tcp.port").unwrap();
    let mut v = Vec::new();
    let t = cpu_ns();
    for _ in 0..N {
        v.clear();
        black_box(&seg).values(port, &mut v);
        black_box(v.len());
    }
    let ns = (cpu_ns() - t) as f64 / f64::from(N);
    println!("{ns:7.1} ns  reading tcp.port alone (the floor)");
    for expr in EXPRS {
        let f = DisplayFilter::compile(expr).expect(expr);
        for _ in 0..N / 10 {
            black_box(f.matches(black_box(&seg)));
        }
        let t = cpu_ns();
        for _ in 0..N {
            black_box(f.matches(black_box(&seg)));
        }
        let ns = (cpu_ns() - t) as f64 / f64::from(N);
        println!("{ns:7.1} ns  {:5.1} M/s  {expr}", 1000.0 / ns);
    }
}

criterion_group!(benches, filters);

fn main() {
    if std::env::var_os("DFILTER_CPU").is_some() {
        cpu_times();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
