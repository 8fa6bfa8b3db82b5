//! decode alone: any bytes of any link type decode to something, and the TCP option walk and
//! window-scale lookup that the renderers and tracker use never panic on what decode kept.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tcplens::decode::{Payload, decode, options, window_scale};

fuzz_target!(|data: &[u8]| {
    let Some((&link, frame)) = data.split_first() else {
        return;
    };
    let d = decode(tcplens_fuzz::linktype(link), frame);
    if let Payload::Tcp(tcp) = &d.payload {
        assert!(
            tcp.options.len() <= tcp.options_len,
            "options beyond the header"
        );
        for _ in options(tcp) {}
        let _ = window_scale(tcp);
    }
    if let Some(stop) = &d.stop {
        assert!(!stop.reason.contains('\n'), "a stop reason fits on its row");
    }
});
