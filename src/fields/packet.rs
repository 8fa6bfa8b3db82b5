//! One frame as the field table sees it: the decoded frame, the tracker's verdict on its
//! segment, the frame's bytes when kept, its times, and (second pass) its connection's end.

use std::net::IpAddr;

use crate::decode::{Decoded, Payload, Tcp};
use crate::flow::{Step, Summary, TcpInfo};
use crate::source::Frame;

/// Times Wireshark shows per frame, in nanoseconds: ±292 years, saturated beyond (every
/// displayed frame carries them, so they are kept to 8 bytes each rather than 16).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FrameTimes {
    /// Since the first frame (`frame.time_relative`).
    pub relative: i64,
    /// Since the previous captured frame (`frame.time_delta`).
    pub delta: i64,
    /// Since the previous displayed frame (`frame.time_delta_displayed`).
    pub delta_displayed: i64,
}

impl FrameTimes {
    /// A difference of two timestamps in nanoseconds, saturated to what an i64 holds.
    pub fn span(later: i128, earlier: i128) -> i64 {
        let d = later - earlier;
        i64::try_from(d).unwrap_or(if d < 0 { i64::MIN } else { i64::MAX })
    }
}

pub struct Packet<'a> {
    pub frame: &'a Frame,
    pub tcp: Option<&'a TcpInfo>,
    /// The captured bytes, when a field that reads them was asked for.
    pub bytes: Option<&'a [u8]>,
    pub times: FrameTimes,
    /// The segment's connection as it ended (`tcplens.conn.*`), on a second pass.
    pub conn: Option<&'a Summary>,
}

/// What a connection's summary line is, seen as a packet: no frame, only `tcplens.conn.*`.
static NO_FRAME: std::sync::LazyLock<Frame> =
    std::sync::LazyLock::new(|| Frame::new(0, Default::default(), 0, 0, &[]));

impl<'a> Packet<'a> {
    /// A connection by itself (`--summary` with a filter of connection fields).
    pub fn of_connection(summary: &'a Summary) -> Packet<'a> {
        Packet {
            frame: &NO_FRAME,
            tcp: None,
            bytes: None,
            times: FrameTimes::default(),
            conn: Some(summary),
        }
    }

    pub fn decoded(&self) -> &'a Decoded {
        self.frame.decoded()
    }

    /// The TCP header, when complete.
    pub fn tcp_header(&self) -> Option<&'a Tcp> {
        match &self.decoded().payload {
            Payload::Tcp(t) => Some(t),
            _ => None,
        }
    }

    /// The segment's data, when the source kept the frame's bytes (with IP fragments', the
    /// reassembled datagram's).
    pub fn tcp_payload(&self, tcp: &Tcp) -> Option<&'a [u8]> {
        self.frame.tcp_payload(tcp, self.bytes)
    }

    /// The TCP header and the tracker's verdict on it.
    pub fn segment(&self) -> Option<(&'a Tcp, &'a TcpInfo)> {
        Some((self.tcp_header()?, self.tcp?))
    }

    /// The segment's place in its connection.
    pub fn step(&self) -> Option<&'a Step> {
        self.tcp?.step.as_ref()
    }

    /// TCP ports, also from a header cut short.
    pub fn tcp_ports(&self) -> [Option<u16>; 2] {
        match &self.decoded().payload {
            Payload::Tcp(t) => [Some(t.sport), Some(t.dport)],
            Payload::TcpPartial { sport, dport, .. } => [*sport, *dport],
            _ => [None, None],
        }
    }

    pub fn is_tcp(&self) -> bool {
        matches!(
            self.decoded().payload,
            Payload::Tcp(_) | Payload::TcpPartial { .. }
        )
    }

    /// IPv4 source and destination.
    pub fn ipv4(&self) -> Option<[std::net::Ipv4Addr; 2]> {
        match self.decoded().ip? {
            crate::decode::Ip {
                src: IpAddr::V4(s),
                dst: IpAddr::V4(d),
                ..
            } => Some([s, d]),
            _ => None,
        }
    }

    /// IPv6 source and destination.
    pub fn ipv6(&self) -> Option<[std::net::Ipv6Addr; 2]> {
        match self.decoded().ip? {
            crate::decode::Ip {
                src: IpAddr::V6(s),
                dst: IpAddr::V6(d),
                ..
            } => Some([s, d]),
            _ => None,
        }
    }

    /// Bytes from `at` to the end of the frame, when kept.
    pub fn bytes_from(&self, at: Option<usize>) -> &'a [u8] {
        self.bytes
            .zip(at)
            .and_then(|(b, at)| b.get(at..))
            .unwrap_or(&[])
    }
}
