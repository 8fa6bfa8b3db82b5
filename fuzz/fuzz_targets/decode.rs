//! decode alone: any bytes of any link type decode to something, the TCP option walk that the
//! renderers use never panics on what decode kept, and the window scale decode found for the
//! tracker is the one that walk shows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tcplens::decode::{Payload, TcpOption, decode, options};

fuzz_target!(|data: &[u8]| {
    let Some((&link, frame)) = data.split_first() else {
        return;
    };
    let d = decode(tcplens_fuzz::linktype(link), frame, frame.len() as u32);
    if let Payload::Tcp(tcp) = &d.payload {
        assert!(
            tcp.options.len() <= tcp.options_len,
            "options beyond the header"
        );
        let shown = options(tcp).find_map(|o| match o {
            TcpOption::Opt {
                kind: 3,
                data: [shift],
            } => Some(*shift),
            _ => None,
        });
        assert_eq!(
            tcp.window_scale, shown,
            "window scale unlike the options shown"
        );
        let sack = options(tcp).any(|o| matches!(o, TcpOption::Opt { kind: 5, .. }));
        assert_eq!(tcp.sack, sack, "SACK flag unlike the options shown");
    }
    if let Some(stop) = &d.stop {
        assert!(
            !stop.reason.to_string().contains('\n'),
            "a stop reason fits on its row"
        );
    }
});
