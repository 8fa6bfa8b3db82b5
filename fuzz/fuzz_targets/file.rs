//! The file reader: any bytes as a pcap or pcapng file. The reader thread must never panic
//! (whatever pcap-parser makes of block and record lengths, timestamps, resolutions and
//! interface ids), and whatever frames it delivers go through the whole pipeline.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tcplens::flow::Limits;
use tcplens::source::{self, SourceMsg};

/// One file per fuzzing process, rewritten for each input (in memory when /dev/shm exists).
fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = PathBuf::from("/dev/shm");
        let dir = if dir.is_dir() {
            dir
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("tcplens-fuzz-{}.pcap", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    std::fs::write(path(), data).expect("write the input file");
    let (tx, rx) = source::channel();
    // open fails only for a missing file or a directory: not reachable here.
    let input = source::file::open(path().clone()).expect("open the input file");
    let reader = source::file::spawn(input, Default::default(), tx, Default::default())
        .expect("start the reader");
    let mut frames = Vec::new();
    for msg in rx {
        if let SourceMsg::Frames(batch) = msg {
            frames.extend(batch.iter().cloned());
        }
    }
    assert!(reader.join().is_ok(), "the reader thread panicked");
    tcplens_fuzz::run(&tcplens_fuzz::Capture {
        limits: Limits::default(),
        frames,
        bytes: Vec::new(),
    });
});
