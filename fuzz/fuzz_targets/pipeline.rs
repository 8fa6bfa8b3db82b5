//! decode → Tracker → every output mode, over a sequence of frames of one link type
//! (format in src/lib.rs): no panic, one row per frame, valid UTF-8 and valid JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tcplens_fuzz::run(&tcplens_fuzz::capture(data));
});
