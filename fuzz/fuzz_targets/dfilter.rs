//! The display filter: any expression compiles or fails with a caret, and a compiled filter
//! runs over any capture, printing every field of the frames it selects, without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let Ok(expr) = std::str::from_utf8(&data[..split]) else {
        return;
    };
    let cap = tcplens_fuzz::capture(data.get(split + 1..).unwrap_or_default());
    tcplens_fuzz::filter(expr, &cap);
});
