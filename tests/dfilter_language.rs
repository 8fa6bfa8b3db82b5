//! The display filter against tshark 4.0: every expression of `EXPRS` is run through
//! tcplens's `DisplayFilter` on the field values tshark itself decodes from the captures below
//! (so this checks the filter language, not tcplens's decoding), and the frames it keeps must
//! be the frames tshark's filter keeps: one tshark run per capture evaluates every expression,
//! each as a tap listener's filter (tests/dfilter_language.lua). Expressions tshark refuses must
//! be refused too.

mod common;

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use serde_json::Value as Json;
use tcplens::dfilter::DisplayFilter;
use tcplens::fields::{FIELDS, FieldId, FieldSource, Kind, Value, lookup};

/// Captures: fixtures and corpus files with IPv4, IPv6, cooked links, VLANs, non-TCP frames.
const FILES: &[&str] = &[
    "fixtures/learn_tcp.pcap",
    "fixtures/ipv6.pcap",
    "fixtures/retransmissions.pcap",
    "fixtures/zero_window.pcap",
    "fixtures/sll_any.pcap",
    "../shared/corpus/tcpdump__ssh.pcap",
    "../shared/corpus/tcpdump__pptp.pcap",
    "../shared/corpus/pcapplusplus__many_interfaces-1.pcapng",
    "../shared/corpus/sanders__http_ip4and6.pcapng",
    "../shared/corpus/zeek__vlan-collisions.pcap",
    "../shared/corpus/suricata__mqtt-limit-2.pcap",
];

/// Expressions whose tshark result tcplens reproduces. Those tshark refuses are here too.
const EXPRS: &[&str] = &[
    // presence
    "tcp",
    "ip",
    "ipv6",
    "udp",
    "arp",
    "eth",
    "vlan",
    "sll",
    "icmp",
    "tcp.analysis.flags",
    "tcp.analysis.retransmission",
    "tcp.analysis.duplicate_ack",
    "tcp.analysis.window_update",
    "tcp.flags.syn",
    "tcp.payload",
    "tcp.options.sack_perm",
    "tcp.options.sack_le",
    "!tcp",
    "not ip",
    // comparisons, word and symbol forms
    "tcp.port == 5200",
    "tcp.port eq 5200",
    "tcp.port any_eq 5200",
    "tcp.port != 5200",
    "tcp.port ne 5200",
    "tcp.port all_ne 5200",
    "tcp.port === 5200",
    "tcp.port all_eq 5200",
    "tcp.port !== 5200",
    "tcp.port ~= 5200",
    "tcp.port any_ne 5200",
    "tcp.srcport > 5200",
    "tcp.srcport gt 5200",
    "tcp.srcport >= 5201",
    "tcp.srcport ge 5201",
    "tcp.srcport < 5201",
    "tcp.srcport lt 5201",
    "tcp.srcport <= 5200",
    "tcp.srcport le 5200",
    "tcp.port == 22",
    "tcp.port != 22",
    "tcp.port !== 22",
    "tcp.port === 22",
    "udp.port != 53",
    "not tcp.port == 22",
    "!(tcp.port == 5200)",
    "tcp.port > 1024",
    "all tcp.port > 1024",
    "any tcp.port > 1024",
    "all tcp.port == 5200",
    "any tcp.port != 5200",
    "all tcp.port != 5200",
    "any tcp.port === 5200",
    "all tcp.port !== 5200",
    "all ip.addr == 127.0.0.1",
    // logic and precedence
    "tcp.port == 5200 or tcp.flags.syn == 1 and tcp.flags.fin == 1",
    "(tcp.port == 5200 or tcp.flags.syn == 1) and tcp.flags.fin == 1",
    "tcp.flags.fin == 1 and tcp.flags.syn == 1 or tcp.flags.reset == 1",
    "tcp.flags.fin == 1 && tcp.flags.ack == 1 || tcp.flags.reset == 1",
    "not tcp.flags.syn == 1 and tcp.flags.ack == 1",
    "not (tcp.flags.syn == 1 and tcp.flags.ack == 1)",
    "! tcp.flags.syn == 1 or tcp.len > 0",
    "not not tcp",
    "tcp.flags.syn==1&&tcp.flags.ack==0",
    "tcp.srcport < tcp.dstport < 6000",
    "tcp.srcport > tcp.dstport",
    "tcp.srcport == tcp.dstport",
    "tcp.seq == tcp.ack",
    "ip.src == ip.dst",
    "frame.number < 5 || frame.number > 15",
    // Booleans
    "tcp.flags.syn == 1",
    "tcp.flags.syn == 0",
    "tcp.flags.syn == 2",
    "tcp.flags.syn != 0",
    "tcp.flags.syn == True",
    "tcp.flags.syn == TRUE",
    "tcp.flags.syn == False",
    "tcp.flags.syn == Set",
    "tcp.flags.syn == \"Set\"",
    "tcp.flags.syn == true",
    "tcp.flags.syn == \"True\"",
    "tcp.flags.syn > 0",
    "tcp.flags.syn == tcp.flags.ack",
    "ip.flags.df == 1",
    // integers: bases, widths, negative
    "tcp.srcport == 0x1450",
    "tcp.srcport == 0X1450",
    "tcp.srcport == 012120",
    "tcp.srcport == 0b1010001010000",
    "tcp.srcport == 5200.0",
    "tcp.srcport == 1e3",
    "tcp.srcport == 09",
    "tcp.srcport == 0x",
    "tcp.srcport == :1450",
    "tcp.srcport == 14:50",
    "tcp.port == 70000",
    "ip.ttl == 256",
    "ip.ttl == 64",
    "tcp.seq == 4294967296",
    "tcp.seq == 18446744073709551616",
    "tcp.port == \"http\"",
    "tcp.port == -1",
    "tcp.port != -1",
    "tcp.port > -1",
    "tcp.stream == -0",
    "tcp.window_size_scalefactor == -1",
    "tcp.window_size_scalefactor == -2",
    "tcp.window_size_scalefactor > -2",
    "tcp.window_size_scalefactor == 2147483648",
    "-tcp.window_size_scalefactor == -128",
    "-tcp.srcport == -5200",
    "-tcp.stream == 0",
    "tcp.srcport == 'P'",
    "tcp.hdr_len == ' '",
    "tcp.srcport == 'ab'",
    "tcp.srcport == ''",
    "ip.proto == 6",
    "eth.type == 0x0800",
    "eth.type == 0x86dd",
    "sll.pkttype == 4",
    "vlan.id == 42",
    "tcp.flags == 0x012",
    "tcp.flags == 0x10000",
    "tcp.stream in {0 1}",
    // bitwise and arithmetic
    "tcp.flags & 0x02",
    "tcp.flags & 0x02 == 0x02",
    "tcp.flags & 0x12 == 0x12",
    "tcp.flags & 0x12 != 0",
    "tcp.flags bitwise_and 0x04",
    "tcp.flags & 18 == 0x12",
    "tcp.flags & tcp.flags == 0x12",
    "tcp.srcport & 0xff == 0x50",
    "tcp.flags.syn & 1",
    "ip.addr & 255.0.0.0 == 127.0.0.0",
    "ipv6.addr & ::ffff == ::1",
    "tcp.payload[0:2] & ff:00 == 48:00",
    "tcp.payload[0:2] & 00:00",
    "tcp.srcport + 1 == 5201",
    "tcp.srcport + 1 == tcp.dstport",
    "tcp.port + tcp.port == 10401",
    "tcp.srcport - 1 == 5199",
    "tcp.srcport -1 == 5199",
    "tcp.srcport * 2 == 10400",
    "tcp.srcport / 2 == 2600",
    "tcp.srcport / 0 == 1",
    "tcp.srcport / 0 != 1",
    "tcp.srcport % 7 == 6",
    "tcp.srcport % 0 === 1",
    "tcp.srcport - 5201 != 1",
    "tcp.srcport + 65535 > 65535",
    "tcp.srcport * 1000000 == 5",
    "tcp.dstport >= 4 * {tcp.srcport + 3}",
    "tcp.dstport < 2 * {tcp.srcport - 3}",
    "tcp.window_size_scalefactor * -1 == -1024",
    "tcp.window_size_scalefactor - 2048 == -1024",
    "tcp.window_size_value * tcp.window_size_scalefactor == tcp.window_size",
    "tcp.srcport - tcp.srcport",
    "tcp.srcport & 0",
    "-tcp.srcport",
    "1 + 1 == 2",
    "1 == 1",
    "5200 == tcp.srcport",
    "tcp.flags.syn + 1 == 2",
    "tcp.flags.syn == -1",
    "frame.time_relative * 2 > 3",
    "frame.time_relative + 1 > 2.5",
    "tcp.srcport + frame.time_relative > 1",
    "tcp.srcport == 5200 + 0",
    "tcp.flags & 0x02 == 2 == 2",
    "tcp.srcport == 5200 == tcp.srcport",
    // times
    "frame.time_relative > 1.5",
    "frame.time_relative > 1",
    "frame.time_relative >= 0.5 and frame.time_relative <= 2",
    "frame.time_relative == 0",
    "frame.time_relative > -1",
    "frame.time_relative > 1.",
    "frame.time_relative > 0x1",
    "frame.time_relative > \"1.5\"",
    "frame.time_relative < 1.000000000001",
    "frame.time_delta > 0.5",
    "frame.time_delta > frame.time_relative",
    "frame.time_epoch > 1700000000",
    "tcp.time_delta > 0.2",
    "tcp.analysis.initial_rtt < 0.001",
    "frame.time_relative in {1..2.5}",
    // addresses
    "ip.addr == 127.0.0.1",
    "ip.src == 127.0.0.1/32",
    "ip.addr == 127.0.0.0/8",
    "ip.addr == 127.1.0.0/8",
    "ip.addr == 10.0.0.0/8",
    "ip.addr == 192.168.0.0/16",
    "ip.addr != 10.0.0.0/8",
    "ip.addr == 127.0.0.1/0",
    "ip.addr == 127.0.0.1/33",
    "ip.dst > 10.99.0.1",
    "ip.addr == \"127.0.0.1\"",
    "ip.addr == 300.1.1.1",
    "ip.addr == 127.0.0",
    "ip.addr == 127.0.0.01",
    "ip.addr == ::1",
    "ip.addr in {127.0.0.0 .. 127.0.0.5}",
    "ip.addr in {10.0.0.0/8, 127.0.0.0/8}",
    "ip.addr[0] == 7f",
    "ip.addr[0] == 0a",
    "ip.addr contains 7f",
    "ip.src == ipv6.src",
    "ipv6.addr == ::1",
    "ipv6.addr == ::1/128",
    "ipv6.addr == fe80::/10",
    "ipv6.addr == 0:0:0:0:0:0:0:1",
    "ipv6.addr == ::/0",
    "ipv6.addr == ::1/129",
    "ipv6.addr == \"::1\"",
    "ipv6.addr > ::",
    "ipv6.addr[15] == 01",
    "ipv6.addr[-1] == 1",
    "ipv6.addr in {:: .. ::2}",
    "ipv6.addr == 1",
    "ipv6.src == ipv6.dst",
    "ipv6.addr matches \"x\"",
    "eth.src == 00:00:00:00:00:00",
    "eth.src == 00-00-00-00-00-00",
    "eth.src == 00.00.00.00.00.00",
    "eth.src == 0000.0000.0000",
    "eth.src == 000000000000",
    "eth.src == 00:00:00:00:00",
    "eth.src == 00:00:00:00:00:00:00",
    "eth.addr == ff:ff:ff:ff:ff:ff",
    "eth.src[0:3] == 00:00:00",
    "eth.src contains 00",
    "eth.src == \"abc\"",
    "eth.src == 'a'",
    "eth.src > 00:00:00:00:00:00",
    "eth.dst matches \"^\\x00\"",
    "eth.src == eth.dst",
    "eth.src == tcp.payload",
    // bytes, strings, slices
    "tcp.payload contains \"user\"",
    "tcp.payload contains \"USER\"",
    "tcp.payload contains 75:73",
    "tcp.payload contains 75-73",
    "tcp.payload contains 75.73",
    "tcp.payload contains 75",
    "tcp.payload contains 0x75",
    "tcp.payload contains 'u'",
    "tcp.payload contains \"\"",
    "tcp.payload == \"\"",
    "tcp.payload == \"user1\"",
    "tcp.payload == 75:73:65:72:31",
    "tcp.payload > \"Hi\"",
    "tcp.payload < \"Hi\"",
    "tcp.payload matches \"^user[12]$\"",
    "tcp.payload matches \"USER\"",
    "tcp.payload matches \"(?-i)USER\"",
    "tcp.payload matches \"\\x48\"",
    "tcp.payload ~ \"ssh\"",
    "tcp.payload matches user",
    "tcp.payload matches \"(\"",
    "all tcp.payload contains \"user\"",
    "tcp.payload[0:2] == 48:65",
    "tcp.payload[0:2] == \"He\"",
    "tcp.payload[0] == 48",
    "tcp.payload[0] == 0x48",
    "tcp.payload[0] == \"H\"",
    "tcp.payload[0] == 'H'",
    "tcp.payload[-1] == 21",
    "tcp.payload[:2] == \"He\"",
    "tcp.payload[1:] == \"ello!\"",
    "tcp.payload[1-3] == \"ell\"",
    "tcp.payload[0,2] == \"Hl\"",
    "tcp.payload[0:1,2-3,5:] == \"Hll!\"",
    "tcp.payload[0,100000] == 00",
    "tcp.payload[100:2] == 00:00",
    "tcp.payload[100:2] != 00:00",
    "tcp.payload[100:2]",
    "tcp.payload[0]",
    "tcp.payload[0:2]",
    "tcp.payload[6:]",
    "tcp.payload[6:] == \"\"",
    "tcp.payload[-10:2]",
    "tcp.payload[1:10]",
    "tcp.payload[0][0] == 48",
    "tcp.payload[0:4][1:2] == 73:65",
    "tcp.payload[ 0 : 2 ] == \"He\"",
    "tcp.payload[0x1] == 65",
    "tcp.payload[5:0]",
    "tcp.payload[4-2]",
    "tcp.payload[0-0] == 48",
    "tcp.payload[4:-1]",
    "tcp.payload[a]",
    "tcp.payload[]",
    "tcp.payload[0:2] < \"Hi\"",
    "tcp.payload[0:2] > \"Hi\"",
    "tcp.payload[0:2] contains 65",
    "tcp.payload[0:4] == tcp.payload[0:4]",
    "tcp.payload[0:2] == eth.src[0:2]",
    "tcp.port[0]",
    "tcp.flags.syn[0]",
    "frame.time_relative[0]",
    "tcp.options contains 01:01",
    "tcp.options[0] == 02",
    "tcp.flags.str contains \"S\"",
    "tcp.flags.str matches \"s\"",
    "tcp.flags.str matches \"(?-i)s\"",
    "tcp.flags.str == \"··········S·\"",
    "tcp.flags.str == \"\\u00b7\\u00b7\\u00b7\\u00b7\\u00b7\\u00b7\\u00b7\\u00b7\\u00b7\\u00b7S\\u00b7\"",
    "tcp.flags.str contains 53",
    "tcp.flags.str contains \"\\x53\"",
    "tcp.flags.str contains \"\\123\"",
    "tcp.flags.str == S",
    "tcp.flags.str contains S",
    "tcp.flags.str matches S",
    "tcp.flags.str > \"a\"",
    "tcp.flags.str < \"\\xc3\"",
    "tcp.flags.str[0] == \"\\xc2\"",
    "tcp.flags.str[0:2] == \"·\"",
    "tcp.flags.str contains 'S'",
    "tcp.flags.str == 'S'",
    "tcp.flags.str contains r\"S\"",
    "tcp.flags.str matches r\"\\x53\"",
    "tcp.flags.str matches \"\\\\x53\"",
    "tcp.flags.str contains \"\\q\"",
    "tcp.flags.str contains \"\\777\"",
    "tcp.flags.str contains \"S",
    "tcp.payload == tcp.flags.str",
    "tcp.analysis.flags == 1",
    "tcp.analysis.flags contains 1",
    // sets
    "tcp.port in {5200}",
    "tcp.port in {22, 80, 443}",
    "tcp.port in {22 80}",
    "tcp.port in {5199..5200}",
    "tcp.port in {5199 .. 5200}",
    "tcp.port in {5200..5201,}",
    "tcp.port in {}",
    "tcp.port in 5200",
    "tcp.port in {0x1450}",
    "tcp.port in {\"5200\"}",
    "tcp.port in {5201..5200}",
    "tcp.port in {tcp.srcport}",
    "tcp.port in {-1}",
    "tcp.port in {1..70000}",
    "tcp.srcport not in {5200}",
    "tcp.port not in {5200, 5201}",
    "tcp.port not in {22}",
    "all tcp.port in {5200, 5201}",
    "all tcp.port in {5200..5201}",
    "any tcp.port not in {5200}",
    "all tcp.port not in {5200}",
    "tcp.stream in {0, 2..3}",
    "tcp.payload[0] in {48, 75}",
    "tcp.flags.str in {\"··········S·\"}",
    // functions
    "len(tcp.payload) == 5",
    "len(tcp.payload) > 100",
    "len(tcp.port) == 2",
    "len(eth.src) == 6",
    "len(ip.src) == 4",
    "len(tcp.payload)+1 == 7",
    "len(tcp.payload[0:2]) == 2",
    "len(\"abc\") == 3",
    "len(tcp.payload)",
    "len()",
    "len(tcp.port, 1)",
    "count(tcp.port) == 2",
    "count(ip.addr) == 2",
    "count(tcp.options.sack_le) > 1",
    "count(tcp.payload) == 0",
    "count(tcp.payload) == 1",
    "count(tcp.payload)",
    "count(1) == 1",
    "upper(tcp.flags.str) contains \"S\"",
    "lower(tcp.flags.str) matches \"s\"",
    "lower(tcp.flags.str) == \"··········s·\"",
    "upper(tcp.payload) contains \"USER\"",
    "upper(tcp.port) == 1",
    "upper(\"a\") == \"A\"",
    "string(tcp.srcport) == \"5200\"",
    "string(tcp.srcport) matches \"^52\"",
    "string(frame.number) matches \"[13579]$\"",
    "string(ip.src) == \"127.0.0.1\"",
    "string(ipv6.src) == \"::1\"",
    "string(eth.src) == \"00:00:00:00:00:00\"",
    "string(tcp.flags) == \"2\"",
    "string(frame.time_relative) == \"0\"",
    "string(tcp.flags.syn) == \"1\"",
    "string(tcp.payload) == \"user1\"",
    "max(tcp.srcport, tcp.dstport) == 5201",
    "min(tcp.srcport, tcp.dstport) == 5200",
    "max(tcp.port) == 5201",
    "max(tcp.srcport, 1) == 5201",
    "max(tcp.srcport, frame.number) == 5201",
    "tcp.srcport == max(tcp.srcport, tcp.dstport)",
    "abs(tcp.window_size_scalefactor) == 1024",
    "abs(tcp.srcport) == 5200",
    "abs(-tcp.window_size_scalefactor) == 1024",
    "foo(tcp.port) == 1",
    "count(tcp.port) > count(ip.addr) - 1",
    // protocols and labels
    "frame[0] == 0",
    "frame contains \"Hello\"",
    "tcp contains \"user\"",
    "tcp.analysis.flags && !tcp.analysis.window_update",
    "tcp.analysis.retransmission or tcp.analysis.fast_retransmission",
    // layers and references
    "tcp.port#1 == 5200",
    "tcp.port#2 == 5200",
    "ip.addr#[1-2] == 127.0.0.1",
    "${tcp.port} == 1",
    // syntax errors
    "",
    "tcp.port ==",
    "(tcp",
    "tcp.port == 80 &&",
    "tcp.port == 80 xor tcp",
    "xor",
    "tcp.port = 80",
    "tcp.port == == 80",
    "tcp.port == 80)",
    "(tcp.port) == 80",
    "tcp.port == 5200 tcp",
    "tcp not udp",
    "tcp.port ~ 5200",
    "@tcp.port == 5200",
    "tcp.stream == --1",
    "tcp.port == 5200.",
    "frame.time_relative > .5",
    "tcp.port == 80 &",
    "{tcp.port} == 5200",
    "tcp.port#x == 1",
    "tcp.port == \"abc",
    "tcp.payload[0",
    "tcp.port == 1 or or tcp",
    "tcp.port\u{1}",
    "tcp.port == é",
    // more literal forms and escapes
    "frame.len > '\\n'",
    "frame.len > '\\x0a'",
    "frame.len > '\\012'",
    "frame.len > '\\\\'",
    "frame.len > '\\''",
    "frame.len > '\\z'",
    "frame.len > 'é'",
    "frame.len > '\\u00e9'",
    "frame.len > '\\400'",
    "tcp.flags.str contains \"\\a\\b\\f\\n\\r\\t\\v\"",
    "tcp.flags.str contains \"\\U000000b7\"",
    "tcp.flags.str contains \"\\u00b7S\"",
    "tcp.flags.str contains \"\\u12\"",
    "tcp.flags.str contains r\"\\\"\"",
    "tcp.flags.str contains \"·\"",
    "tcp.flags.str matches \"^·+S\"",
    "tcp.flags.str matches \"^.{10}S\"",
    "tcp.flags.str matches \"S.$\"",
    "len(tcp.flags.str) == 22",
    "tcp.payload matches \".\"",
    "all tcp.payload matches \"^[a-z]\"",
    "tcp.payload matches \"^\\\\x00\\\\x00\"",
    // more slices
    "tcp.payload[1--1] == \"ello!\"",
    "tcp.payload[-3--1] == \"lo!\"",
    "tcp.payload[-1--3]",
    "tcp.payload[:0]",
    "tcp.payload[+1] == 65",
    "tcp.payload[1:+2] == \"el\"",
    "tcp.payload[1-+2] == \"el\"",
    "tcp.payload[0:2] & ff:ff:ff == 48:65",
    "tcp.payload[0:2] & 0f:0f:0f == 08:05",
    "tcp.payload[0:2] == tcp.payload[1:2]",
    "frame[-1] == 0x21",
    "frame[0:6] == eth.dst",
    "eth.dst == frame[0:6]",
    "frame[12:2] == 08:00",
    "frame[12:2] == 86:dd",
    "ip[9] == 06",
    "tcp[13] & 02",
    "tcp[13] & 02 == 02",
    // more fields
    "eth.addr == ff:ff:ff:ff:ff:ff",
    "arp.opcode == 1",
    "arp.src.proto_ipv4 == 192.168.0.0/16",
    "udp.port == 53",
    "udp.length > 100",
    "udp.srcport < udp.dstport",
    "icmp.type == 8",
    "icmpv6.type == 135",
    "vlan.id == 10 or vlan.id == 20",
    "vlan.etype == 0x0800",
    "sll.etype == 0x0800",
    "frame.cap_len < frame.len",
    "ip.flags == 0x40",
    "ip.flags.mf == 1",
    "ip.frag_offset > 0",
    "ip.id == 0",
    "ip.len > 1000",
    "ip.hdr_len == 20",
    "ipv6.hlim == 64",
    "ipv6.nxt == 6",
    "ipv6.plen > 0",
    "tcp.options.mss_val == 65495",
    "tcp.options.wscale.shift == 10",
    "tcp.options.wscale.multiplier == 1024",
    "tcp.options.timestamp.tsval > tcp.options.timestamp.tsecr",
    "tcp.window_size_value < 100",
    "tcp.window_size == 0",
    "tcp.len >= 1000",
    "tcp.nxtseq > tcp.seq",
    "tcp.seq_raw > 2147483648",
    "tcp.ack_raw == 0",
    "tcp.hdr_len == 32",
    "tcp.urgent_pointer != 0",
    "tcp.analysis.duplicate_ack_frame",
    "tcp.analysis.duplicate_ack_num >= 2",
    "tcp.analysis.duplicate_ack_frame < frame.number",
    "tcp.time_relative > 1",
    "tcp.flags.push == 1 and tcp.flags.ack",
    "tcp.flags.reset",
    "tcp.flags.res == 1",
    "tcp.flags.ae == 1",
    "tcp.flags.cwr or tcp.flags.ece == 1",
    "tcp.flags.urg == 0",
    "frame.time_epoch < 1700000000.5",
    "frame.time_delta_displayed >= 0",
    // more arithmetic and functions
    "frame.time_delta + frame.time_delta > 1",
    "-frame.time_relative < 0",
    "abs(frame.time_relative - 2) < 0.5",
    "abs(frame.time_relative - 3) > 1",
    "frame.time_relative - 2 < -0.5",
    "frame.time_relative - 2 > -0.5",
    "frame.time_relative - 2 in {-1 .. -0.5}",
    "tcp.flags.str matches \"^\\xc2\"",
    "tcp.flags.str matches \"[·]{20}\"",
    "frame.time_relative - tcp.time_relative > 0",
    "count(tcp.port) == count(ip.addr)",
    "count(tcp.options.sack_le) == count(tcp.options.sack_re)",
    "tcp.options.sack_re - tcp.options.sack_le > 1000",
    "max(tcp.options.sack_re) > 0",
    "min(tcp.srcport, tcp.dstport, 1000) == 1000",
    "max(ip.src, ip.dst) == 127.0.0.1",
    "len(tcp.options) == 20",
    "len(tcp.payload) == tcp.len",
    "len(tcp.payload) != tcp.len",
    "string(tcp.stream) == \"0\"",
    "string(tcp.seq) contains \"1\"",
    "string(eth.src) contains \"00\"",
    "upper(tcp.flags.str) == lower(tcp.flags.str)",
    "tcp.srcport in {5200, tcp.dstport}",
    "tcp.port in{5200}",
    "tcp.port in {80,443}",
    "any tcp.port in {5200}",
    "ip.addr in {127.0.0.1/32 .. 127.0.0.2}",
    "tcp.flags.syn in {1}",
    "tcp.flags.syn in {0 .. 1}",
    "frame.time_relative in {-1 .. 0.5}",
    "tcp.payload in {\"user1\", 75:73:65:72:32}",
    "tcp.port in {-1 .. 100}",
    // lexing corners
    "tcp.port==5200&&tcp.flags.syn==1",
    "tcp.port eq5200",
    "tcp.port == 5200andtcp",
    "tcp.port == 5200 and(tcp)",
    "!(tcp)",
    "not(tcp.port == 5200)",
    "tcp.port == 5200 || !ip",
    "ip.addr==127.0.0.1",
    "ip.addr==127.0.0.1/8",
    "eth.src==00:00:00:00:00:00",
    "ipv6.addr==::1",
    "tcp.payload[0:2]==48:65",
    "tcp .port == 5200",
    ".tcp.port == 5200",
    ".tcp",
    "..tcp",
    "tcp.port == .tcp.srcport",
    "tcp..port",
    "tcp.port == 52_00",
    "tcp.port == 5200-1",
    "tcp.port == 5200 - 1",
    "tcp.flags.str == \"\"",
    "tcp.port in {{5200}}",
    "tcp.port == {5200}",
    "tcp.port == {5200 + 1} - 1",
    "{tcp.srcport + 1} == 5201",
    "tcp.port#1",
    "tcp.port#0 == 5200",
    "tcp.port#-1 == 5200",
    "tcp.port#[0-1] == 5200",
    "tcp.port#[-1] == 5200",
    "tcp.port#1[0]",
    "tcp.payload#1[0] == 48",
    "${tcp.port}",
    "${tcp.prot} == 1",
    "tcp.port == ${tcp.srcport}",
    // unknown names tshark knows (tcplens says which it lacks)
    "tcp.prot == 1",
];

/// Expressions where tcplens deliberately differs (docs/filters.md says why): no oracle check.
const DIFFERENT: &[&str] = &[
    // tshark 4.0's IPv6 `&` leaves part of its result unset: the comparison after it comes
    // out true or false from one frame to the next. tcplens computes the masked address.
    "ipv6.addr & ::ffff == ::1",
];

struct Frame {
    number: u32,
    values: HashMap<FieldId, Vec<Value<'static>>>,
}

impl FieldSource for Frame {
    fn values<'s>(&'s self, field: FieldId, out: &mut Vec<Value<'s>>) {
        if let Some(v) = self.values.get(&field) {
            out.extend(v.iter().cloned());
        }
    }
}

fn path(f: &str) -> PathBuf {
    common::root().join(f)
}

fn tshark_json(args: &[&str]) -> Json {
    let out = common::tshark().args(args).output().expect("tshark");
    assert!(
        out.status.success(),
        "tshark {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("tshark's JSON")
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

fn seconds(s: &str) -> i128 {
    let (sec, frac) = s.split_once('.').unwrap_or((s, ""));
    let neg = sec.starts_with('-');
    let sec: i128 = sec.trim_start_matches('-').parse().expect("seconds");
    let mut ns = 0;
    for (i, c) in frac.bytes().take(9).enumerate() {
        ns += i128::from(c - b'0') * 10i128.pow(8 - i as u32);
    }
    let v = sec * 1_000_000_000 + ns;
    if neg { -v } else { v }
}

/// A field's value from tshark's `-T json -e` text.
fn parse_value(kind: Kind, s: &str) -> Value<'static> {
    match kind {
        Kind::Protocol | Kind::None => Value::Present(&[]),
        Kind::Bool => Value::Bool(s == "1" || s == "True"),
        Kind::UInt | Kind::FrameNum => Value::UInt(s.parse().expect("uint")),
        Kind::Hex { .. } => {
            Value::UInt(u64::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex"))
        }
        Kind::Int => Value::Int(s.parse().expect("int")),
        Kind::Float => Value::Float(s.parse().expect("float")),
        Kind::RelTime => Value::RelTime(seconds(s)),
        Kind::AbsTime => Value::AbsTime(seconds(s)),
        Kind::Ipv4 => Value::Ipv4(s.parse::<Ipv4Addr>().expect("ipv4")),
        Kind::Ipv6 => Value::Ipv6(s.parse::<Ipv6Addr>().expect("ipv6")),
        Kind::Ether => {
            let b = hex(&s.replace(':', ""));
            Value::Ether(b.try_into().expect("6 bytes"))
        }
        Kind::Bytes => Value::Bytes(Cow::Owned(hex(&s.replace(':', "")))),
        Kind::Str => Value::Str(Cow::Owned(s.to_string())),
    }
}

/// Every frame of a capture with the values tshark gives our fields. A protocol's bytes run
/// from its first byte to the end of the frame (what tshark searches for `contains`).
fn frames(file: &str) -> Vec<Frame> {
    let known: Vec<&str> = tshark_known_fields();
    let mut args = vec!["-r", file, "-T", "json"];
    for f in FIELDS {
        if f.kind != Kind::Protocol && known.contains(&f.name) {
            args.extend(["-e", f.name]);
        }
    }
    args.extend(["-e", "frame.number"]);
    let values = tshark_json(&args);
    let raw = tshark_json(&["-r", file, "-T", "json", "-x"]);
    let mut out = Vec::new();
    for (pkt, rawpkt) in values
        .as_array()
        .unwrap()
        .iter()
        .zip(raw.as_array().unwrap())
    {
        let layers = &pkt["_source"]["layers"];
        let number: u32 = layers["frame.number"][0].as_str().unwrap().parse().unwrap();
        let mut map: HashMap<FieldId, Vec<Value<'static>>> = HashMap::new();
        for (name, vals) in layers.as_object().unwrap() {
            let Some(id) = lookup(name) else { continue };
            let kind = id.field().kind;
            let parsed = vals
                .as_array()
                .unwrap()
                .iter()
                .map(|v| parse_value(kind, v.as_str().unwrap()))
                .collect();
            map.insert(id, parsed);
        }
        let rl = &rawpkt["_source"]["layers"];
        let frame_hex = rl["frame_raw"][0].as_str().unwrap_or_default();
        let frame: &'static [u8] = Box::leak(hex(frame_hex).into_boxed_slice());
        for f in FIELDS.iter().filter(|f| f.kind == Kind::Protocol) {
            let key = format!("{}_raw", f.name);
            let found: Vec<&Json> = find_key(rl, &key);
            if found.is_empty() {
                continue;
            }
            let id = lookup(f.name).unwrap();
            let vals = found
                .iter()
                .map(|r| {
                    let off = r[1].as_u64().unwrap_or(0) as usize;
                    Value::Present(&frame[off.min(frame.len())..])
                })
                .collect();
            map.insert(id, vals);
        }
        out.push(Frame {
            number,
            values: map,
        });
    }
    out
}

/// Every value under `key` anywhere in the tree (a protocol may appear twice: VLAN in VLAN).
fn find_key<'j>(j: &'j Json, key: &str) -> Vec<&'j Json> {
    let mut out = Vec::new();
    match j {
        Json::Object(m) => {
            for (k, v) in m {
                if k == key {
                    out.push(v);
                } else {
                    out.extend(find_key(v, key));
                }
            }
        }
        Json::Array(a) => {
            for v in a {
                out.extend(find_key(v, key));
            }
        }
        _ => {}
    }
    out
}

fn tshark_known_fields() -> Vec<&'static str> {
    static KNOWN: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    KNOWN
        .get_or_init(|| {
            let out = std::process::Command::new("tshark")
                .args(["-G", "fields"])
                .output()
                .expect("tshark -G fields");
            let text = String::from_utf8_lossy(&out.stdout);
            let names: std::collections::HashSet<&str> =
                text.lines().filter_map(|l| l.split('\t').nth(2)).collect();
            FIELDS
                .iter()
                .map(|f| f.name)
                .filter(|n| names.contains(n))
                .collect()
        })
        .clone()
}

/// tshark's answers for every expression on one file, in one run: a tap listener per filter
/// (tests/dfilter_language.lua). Each answer is the frame numbers kept, joined by commas, or `!`
/// and tshark's message.
fn tshark_answers(file: &str) -> Vec<String> {
    assert!(
        EXPRS.iter().all(|e| !e.contains('\n')),
        "one expression per line"
    );
    let list = common::temp_dir("dfilter").join("exprs.txt");
    std::fs::write(&list, EXPRS.join("\n") + "\n").unwrap();
    let script = common::root().join("tests/dfilter_language.lua");
    let out = common::tshark()
        .env("DFILTER_EXPRS", &list)
        .args(["-q", "-r", file, "-X"])
        .arg(format!("lua_script:{}", script.display()))
        .output()
        .expect("tshark");
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The empty expression keeps every frame: no line at all means the script never ran.
    assert!(
        !stdout.trim().is_empty(),
        "tshark printed no result: is its Lua support on (tshark -v lists Lua)? {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut answers: Vec<Vec<String>> = vec![Vec::new(); EXPRS.len()];
    for line in stdout.lines() {
        let Some((i, what)) = line.split_once('\t') else {
            continue;
        };
        let Ok(i) = i.parse::<usize>() else { continue };
        answers[i - 1].push(what.to_string());
    }
    answers
        .into_iter()
        .map(|a| match a.iter().find(|w| w.starts_with('!')) {
            Some(err) => err.clone(),
            None => a.join(","),
        })
        .collect()
}

#[test]
fn filters_keep_the_frames_tshark_keeps() {
    let version = std::process::Command::new("tshark")
        .arg("-v")
        .output()
        .expect("tshark -v");
    assert!(
        String::from_utf8_lossy(&version.stdout).contains("TShark (Wireshark) 4.0."),
        "the display filter's oracle is tshark 4.0"
    );
    let mut failures = Vec::new();
    let mut checked = 0;
    for file in FILES {
        let p = path(file);
        if !p.exists() {
            eprintln!("skipped: {file} is absent");
            continue;
        }
        let frames = frames(&p.to_string_lossy());
        let answers = tshark_answers(&p.to_string_lossy());
        for (expr, want) in EXPRS.iter().zip(&answers) {
            if DIFFERENT.contains(expr) {
                continue;
            }
            checked += 1;
            let got = match DisplayFilter::compile(expr) {
                Err(e) => format!("!{}", e.message()),
                Ok(f) => frames
                    .iter()
                    .filter(|fr| f.matches(*fr))
                    .map(|fr| fr.number.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            };
            let agree = match (want.strip_prefix('!'), got.strip_prefix('!')) {
                (Some(w), Some(g)) => {
                    if std::env::var_os("DFILTER_ORACLE_MESSAGES").is_some() && !w.ends_with(g) {
                        eprintln!("{expr:?}\n    tshark:  {w}\n    tcplens: {g}");
                    }
                    true
                }
                (None, None) => *want == got,
                _ => false,
            };
            if !agree {
                failures.push(format!(
                    "{expr:?} on {file}:\n    tshark:  {}\n    tcplens: {}",
                    clip(want.trim_start_matches("!Error while registering tap: ")),
                    clip(&got)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn clip(s: &str) -> String {
    if s.chars().count() > 300 {
        format!("{}...", s.chars().take(300).collect::<String>())
    } else {
        s.to_string()
    }
}

/// tshark's message and caret line for an expression it refuses (`-Y` prints both).
fn tshark_error(expr: &str) -> Option<(String, String)> {
    let out = common::tshark()
        .args([
            "-r",
            &path(FILES[0]).to_string_lossy(),
            "-Y",
            expr,
            "-c",
            "1",
        ])
        .output()
        .expect("tshark");
    if out.status.success() {
        return None;
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let mut lines = err.lines().skip_while(|l| !l.starts_with("tshark: "));
    let message = lines.next()?.trim_start_matches("tshark: ").to_string();
    let _expr = lines.next();
    let caret = lines.next().unwrap_or("").to_string();
    Some((message, caret))
}

#[test]
fn refusals_say_what_tshark_says_where_tshark_points() {
    let mut failures = Vec::new();
    let answers = tshark_answers(&path(FILES[0]).to_string_lossy());
    for (expr, answer) in EXPRS.iter().zip(&answers) {
        // Only what tshark refuses, and only messages tcplens words as tshark does (not
        // unknown fields, not regex errors): those must agree on the caret too.
        if !answer.starts_with('!') || expr.chars().any(|c| c.is_control() || !c.is_ascii()) {
            continue;
        }
        let Err(ours) = DisplayFilter::compile(expr) else {
            failures.push(format!("{expr:?}: tcplens compiles it"));
            continue;
        };
        if ours.message().starts_with("tcplens does not know")
            || ours.message().starts_with("Regex compilation error")
        {
            continue;
        }
        let Some((message, caret)) = tshark_error(expr) else {
            continue;
        };
        let shown = ours.to_string();
        let our_caret = shown.lines().nth(2).unwrap_or("");
        // tshark prints no caret when the expression ends too soon, nor for a few errors
        // about nodes it keeps no place for (a slice in `len()` or before `in`): tcplens
        // points all the same.
        let caret_agrees = caret.trim().is_empty() || caret == our_caret;
        if message != ours.message() || !caret_agrees {
            failures.push(format!(
                "{expr:?}\n    tshark:  {message}\n             {caret}\n    tcplens: {}\n             {our_caret}",
                ours.message()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
