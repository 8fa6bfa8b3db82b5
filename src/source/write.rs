//! Capture files written: `tcplens read IN -w OUT` copies the frames the consumer keeps into a
//! new file, as `tshark -r IN -Y F -w OUT` and `tcpdump -r IN -w OUT EXPR` do. The output has
//! the input's format: pcap in, pcap out (same link type, snap length and timestamp precision);
//! pcapng in, pcapng out (one section, the input's interfaces with their link types, snap
//! lengths, `if_tsresol` and `if_tsoffset`, and each frame as an Enhanced Packet Block carrying
//! its raw timestamp, so no precision is lost and interface ids stay the input's).
//!
//! The writer runs on the consumer's thread, not the reader's: which frames to write is decided
//! after tracking (`--stream`, display filters). The file source, asked to keep bytes, sends the
//! input's header blocks ([`FileHeader`]) down the channel before the frames that follow them,
//! and each batch carries its frames' bytes and records ([`super::Captured`]). So a writer is
//! [`Writer::create`] (the path, opened before anything is read), then [`Writer::header`] for
//! each header block and [`Writer::write`] for each frame kept, in file order, then
//! [`Writer::finish`].
//!
//! Both formats are written by hand in native byte order (readers accept either): pcap as in
//! draft-ietf-opsawg-pcap (§4 file header, §5 packet record), pcapng as in
//! draft-ietf-opsawg-pcapng (§4.1 Section Header Block, §4.2 Interface Description Block,
//! §4.3 Enhanced Packet Block, §3.5 options). pcap-parser's serializer would need its optional
//! `cookie-factory` dependency and owned copies of every block; the formats are a few fields.
//!
//! Every record is whole before the next is started, and the consumer flushes after each batch
//! ([`Writer::flush`]) and at the end, also when the read stops at a damaged record: the file
//! then holds every frame before the damage and is valid.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use pcap_parser::PcapNGOption;

use super::Captured;

/// A header block of the input, in file order before the frames that follow it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileHeader {
    /// A pcap file's header.
    Pcap(PcapHeader),
    /// A pcapng Section Header Block. The output has one section: the first's options are
    /// kept; a later section only adds its interfaces.
    Section(Section),
    /// A pcapng Interface Description Block; interfaces are numbered across the file in the
    /// order they come, as [`super::Record::interface`] numbers them.
    Interface(Interface),
}

/// The fields of a pcap file header worth keeping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PcapHeader {
    /// Nanosecond timestamps (magic 0xa1b23c4d) rather than microseconds (0xa1b2c3d4).
    pub nanos: bool,
    pub version_major: u16,
    pub version_minor: u16,
    pub thiszone: i32,
    pub sigfigs: u32,
    pub snaplen: u32,
    /// LINKTYPE_* with the FCS bits above it, as the file had it.
    pub network: u32,
}

/// A pcapng section's options worth keeping (comments, hardware, OS: strings, which read the
/// same in either byte order). `shb_userappl` becomes tcplens.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Section {
    pub options: Vec<BlockOption>,
}

/// A pcapng interface: link type, snap length, and its options in native byte order
/// (`if_tsresol` and `if_tsoffset` among them, so timestamps mean what they meant).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    pub linktype: u16,
    pub snaplen: u32,
    pub options: Vec<BlockOption>,
}

/// One pcapng option: its code and value (without padding).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockOption {
    pub code: u16,
    pub value: Vec<u8>,
}

const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 1;
const EPB: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;
const OPT_COMMENT: u16 = 1;
const SHB_HARDWARE: u16 = 2;
const SHB_OS: u16 = 3;
const SHB_USERAPPL: u16 = 4;

impl Section {
    /// The options of a Section Header Block worth keeping: comments, hardware, OS.
    pub fn from_options(options: &[PcapNGOption]) -> Section {
        let options = until_end(options)
            .filter(|o| matches!(o.code.0, OPT_COMMENT | SHB_HARDWARE | SHB_OS))
            .filter_map(|o| {
                Some(BlockOption {
                    code: o.code.0,
                    value: o.as_bytes().ok()?.to_vec(),
                })
            })
            .collect();
        Section { options }
    }
}

impl Interface {
    /// An Interface Description Block's fields, its options turned to native byte order.
    /// Options whose encoding is not known (custom, or codes after pcapng's list) are kept
    /// only when the section already is in native byte order: they cannot be converted.
    pub fn from_block(
        linktype: u16,
        snaplen: u32,
        options: &[PcapNGOption],
        big_endian: bool,
    ) -> Interface {
        let swap = big_endian != cfg!(target_endian = "big");
        let options = until_end(options)
            .filter_map(|o| {
                let mut value = o.as_bytes().ok()?.to_vec();
                if swap {
                    match (o.code.0, value.len()) {
                        // opt_comment, if_name, if_description, if_IPv4addr, if_IPv6addr,
                        // if_MACaddr, if_EUIaddr, if_tsresol, if_filter, if_os, if_fcslen,
                        // if_hardware: strings, bytes in network order, or single bytes.
                        (1..=7 | 9 | 11 | 12 | 13 | 15, _) => {}
                        // if_speed, if_tsoffset, if_txspeed, if_rxspeed: 64-bit integers;
                        // if_tzone: 32 bits.
                        (8 | 14 | 16 | 17, 8) | (10, 4) => value.reverse(),
                        _ => return None,
                    }
                }
                Some(BlockOption {
                    code: o.code.0,
                    value,
                })
            })
            .collect();
        Interface {
            linktype,
            snaplen,
            options,
        }
    }
}

/// Options before opt_endofopt (code 0), which ends the list (pcapng §3.5).
fn until_end<'a, 'b>(
    options: &'a [PcapNGOption<'b>],
) -> impl Iterator<Item = &'a PcapNGOption<'b>> {
    options.iter().take_while(|o| o.code.0 != 0)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Pcap,
    Pcapng,
}

/// A capture file being written (or stdout, for `-w -`).
pub struct Writer {
    out: BufWriter<Box<dyn Write + Send>>,
    /// The path as messages show it (`stdout` for `-`).
    shown: String,
    /// The file created, removed again if no header ever reached it.
    created: Option<PathBuf>,
    format: Option<Format>,
    /// pcapng: interfaces written so far; a frame names one of them.
    interfaces: u32,
}

impl Writer {
    /// Opens `path` for writing (`-`: stdout) before anything is read, so that an unwritable
    /// path is one error line and no rows. Refuses to overwrite one of `inputs`, the files read,
    /// and to write binary data to a terminal.
    pub fn create(path: &Path, inputs: &[PathBuf]) -> Result<Writer> {
        if path == Path::new("-") {
            if std::io::stdout().is_terminal() {
                bail!(
                    "cannot write stdout: it is a terminal; redirect it to a file or a pipe \
                     (e.g. `-w - | tshark -r -`), or give -w a file name"
                );
            }
            return Ok(Writer::new(
                Box::new(std::io::stdout()),
                "stdout".into(),
                None,
            ));
        }
        let shown = path.display().to_string();
        if inputs.iter().any(|input| same_file(path, input)) {
            bail!("cannot write {shown}: it is the file being read; choose another -w path");
        }
        if path.is_dir() {
            bail!("cannot write {shown}: it is a directory; give a file name to -w");
        }
        let file = File::create(path).map_err(|e| {
            anyhow!("cannot write {shown}: {e}; check that the directory exists and is writable")
        })?;
        Ok(Writer::new(Box::new(file), shown, Some(path.to_path_buf())))
    }

    fn new(out: Box<dyn Write + Send>, shown: String, created: Option<PathBuf>) -> Writer {
        Writer {
            out: BufWriter::with_capacity(1 << 16, out),
            shown,
            created,
            format: None,
            interfaces: 0,
        }
    }

    /// A header block of the input, in file order: the first decides the format.
    pub fn header(&mut self, header: &FileHeader) -> Result<()> {
        let written = match (header, self.format) {
            (FileHeader::Pcap(h), None) => {
                self.format = Some(Format::Pcap);
                write_pcap_header(&mut self.out, h)
            }
            (FileHeader::Section(s), None) => {
                self.format = Some(Format::Pcapng);
                write_section(&mut self.out, s)
            }
            // Later sections: one output section holds every interface.
            (FileHeader::Section(_), Some(Format::Pcapng)) => Ok(()),
            (FileHeader::Interface(i), Some(Format::Pcapng)) => {
                self.interfaces += 1;
                write_interface(&mut self.out, i)
            }
            (other, format) => bail!(
                "cannot write {}: unexpected {} {}",
                self.shown,
                match other {
                    FileHeader::Pcap(_) => "pcap header",
                    FileHeader::Section(_) => "pcapng section",
                    FileHeader::Interface(_) => "pcapng interface",
                },
                match format {
                    Some(Format::Pcap) => "in a pcap file",
                    Some(Format::Pcapng) => "after the section header",
                    None => "before the file header",
                }
            ),
        };
        written.with_context(|| format!("cannot write {}", self.shown))
    }

    /// Appends one frame's record.
    pub fn write(&mut self, frame: Captured<'_>) -> Result<()> {
        let written = match self.format {
            Some(Format::Pcap) => write_pcap_record(&mut self.out, frame),
            Some(Format::Pcapng) if frame.record.interface < self.interfaces => {
                write_enhanced_packet(&mut self.out, frame)
            }
            Some(Format::Pcapng) => bail!(
                "cannot write {}: a frame names interface {} but the input described {}",
                self.shown,
                frame.record.interface,
                self.interfaces
            ),
            None => bail!(
                "cannot write {}: a frame before the file header",
                self.shown
            ),
        };
        written.with_context(|| format!("cannot write {}", self.shown))
    }

    /// Hands what was written to the file (the consumer calls it after each batch).
    pub fn flush(&mut self) -> Result<()> {
        (self.out.flush()).with_context(|| format!("cannot write {}", self.shown))
    }

    /// Flushes the file. A file that never got a header (the input was not a capture) is
    /// removed rather than left empty.
    pub fn finish(mut self) -> Result<()> {
        let flushed = self.flush();
        if self.format.is_none()
            && let Some(path) = self.created.take()
        {
            drop(self.out);
            let _ = std::fs::remove_file(path);
        }
        flushed
    }
}

/// Whether `a` and `b` name the same existing file (same device and inode).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

type Out = BufWriter<Box<dyn Write + Send>>;

/// pcap file header (draft-ietf-opsawg-pcap §4): magic, version, reserved (thiszone, sigfigs
/// in libpcap's terms), snap length, link type and FCS bits.
fn write_pcap_header(out: &mut Out, h: &PcapHeader) -> std::io::Result<()> {
    let magic: u32 = if h.nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
    let mut b = [0u8; 24];
    b[0..4].copy_from_slice(&magic.to_ne_bytes());
    b[4..6].copy_from_slice(&h.version_major.to_ne_bytes());
    b[6..8].copy_from_slice(&h.version_minor.to_ne_bytes());
    b[8..12].copy_from_slice(&h.thiszone.to_ne_bytes());
    b[12..16].copy_from_slice(&h.sigfigs.to_ne_bytes());
    b[16..20].copy_from_slice(&h.snaplen.to_ne_bytes());
    b[20..24].copy_from_slice(&h.network.to_ne_bytes());
    out.write_all(&b)
}

/// pcap packet record (§5): seconds, µs or ns as the file had them, captured and original
/// lengths, the bytes.
fn write_pcap_record(out: &mut Out, f: Captured<'_>) -> std::io::Result<()> {
    let mut b = [0u8; 16];
    b[0..4].copy_from_slice(&f.record.ts_high.to_ne_bytes());
    b[4..8].copy_from_slice(&f.record.ts_low.to_ne_bytes());
    b[8..12].copy_from_slice(&(f.data.len() as u32).to_ne_bytes());
    b[12..16].copy_from_slice(&f.origlen.to_ne_bytes());
    out.write_all(&b)?;
    out.write_all(f.data)
}

/// Option list (pcapng §3.5): code, length, value padded to 32 bits; opt_endofopt at the end.
fn options_len(options: &[BlockOption]) -> usize {
    match options {
        [] => 0,
        _ => {
            options
                .iter()
                .map(|o| 4 + padded(o.value.len()))
                .sum::<usize>()
                + 4
        }
    }
}

fn write_options(out: &mut Out, options: &[BlockOption]) -> std::io::Result<()> {
    if options.is_empty() {
        return Ok(());
    }
    for o in options {
        out.write_all(&o.code.to_ne_bytes())?;
        out.write_all(&(o.value.len() as u16).to_ne_bytes())?;
        out.write_all(&o.value)?;
        out.write_all(&[0; 3][..padded(o.value.len()) - o.value.len()])?;
    }
    out.write_all(&[0; 4])
}

fn padded(len: usize) -> usize {
    len.div_ceil(4) * 4
}

/// A block (pcapng §3.1): type, total length, body, options, total length again.
fn write_block(
    out: &mut Out,
    typ: u32,
    body: &[u8],
    data: &[u8],
    options: &[BlockOption],
) -> std::io::Result<()> {
    let len = (12 + body.len() + padded(data.len()) + options_len(options)) as u32;
    out.write_all(&typ.to_ne_bytes())?;
    out.write_all(&len.to_ne_bytes())?;
    out.write_all(body)?;
    out.write_all(data)?;
    out.write_all(&[0; 3][..padded(data.len()) - data.len()])?;
    write_options(out, options)?;
    out.write_all(&len.to_ne_bytes())
}

/// Section Header Block (§4.1): byte-order magic, version 1.0, section length unknown (-1).
fn write_section(out: &mut Out, s: &Section) -> std::io::Result<()> {
    let mut body = [0u8; 16];
    body[0..4].copy_from_slice(&BYTE_ORDER_MAGIC.to_ne_bytes());
    body[4..6].copy_from_slice(&1u16.to_ne_bytes());
    body[6..8].copy_from_slice(&0u16.to_ne_bytes());
    body[8..16].copy_from_slice(&(-1i64).to_ne_bytes());
    let mut options = s.options.clone();
    options.push(BlockOption {
        code: SHB_USERAPPL,
        value: format!("tcplens {}", env!("CARGO_PKG_VERSION")).into_bytes(),
    });
    write_block(out, SHB, &body, &[], &options)
}

/// Interface Description Block (§4.2): link type, reserved, snap length, options.
fn write_interface(out: &mut Out, i: &Interface) -> std::io::Result<()> {
    let mut body = [0u8; 8];
    body[0..2].copy_from_slice(&i.linktype.to_ne_bytes());
    body[4..8].copy_from_slice(&i.snaplen.to_ne_bytes());
    write_block(out, IDB, &body, &[], &i.options)
}

/// Enhanced Packet Block (§4.3): interface id, timestamp (upper, lower 32 bits) in the
/// interface's units, captured and original lengths, the bytes padded to 32 bits.
fn write_enhanced_packet(out: &mut Out, f: Captured<'_>) -> std::io::Result<()> {
    let mut body = [0u8; 20];
    body[0..4].copy_from_slice(&f.record.interface.to_ne_bytes());
    body[4..8].copy_from_slice(&f.record.ts_high.to_ne_bytes());
    body[8..12].copy_from_slice(&f.record.ts_low.to_ne_bytes());
    body[12..16].copy_from_slice(&(f.data.len() as u32).to_ne_bytes());
    body[16..20].copy_from_slice(&f.origlen.to_ne_bytes());
    write_block(out, EPB, &body, f.data, &[])
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use pcap_parser::OptionCode;

    use super::*;

    fn option(code: u16, value: &[u8]) -> PcapNGOption<'static> {
        PcapNGOption {
            code: OptionCode(code),
            len: value.len() as u16,
            value: Cow::Owned(value.to_vec()),
        }
    }

    #[test]
    fn interface_options_turn_to_native_byte_order() {
        // A section in the byte order this machine does not use.
        let foreign_is_big = cfg!(target_endian = "little");
        let foreign64 = |v: i64| match foreign_is_big {
            true => v.to_be_bytes(),
            false => v.to_le_bytes(),
        };
        let foreign32 = |v: u32| match foreign_is_big {
            true => v.to_be_bytes(),
            false => v.to_le_bytes(),
        };
        let options = || {
            vec![
                option(2, b"eth0"),
                option(9, &[9]),
                option(14, &foreign64(5)),
                option(10, &foreign32(1)),
                option(2988, &[0, 0, 0x7f, 0xfe, 1, 2]),
                option(0, &[]),
                option(3, b"after the end"),
            ]
        };
        let idb = Interface::from_block(1, 65535, &options(), foreign_is_big);
        let codes: Vec<u16> = idb.options.iter().map(|o| o.code).collect();
        assert_eq!(
            codes,
            [2, 9, 14, 10],
            "custom option and what follows the end dropped"
        );
        assert_eq!(idb.options[0].value, b"eth0");
        assert_eq!(idb.options[2].value, 5i64.to_ne_bytes());
        assert_eq!(idb.options[3].value, 1u32.to_ne_bytes());
        // A section in native order: options copied as they are, custom ones included.
        let native = Interface::from_block(1, 65535, &options(), !foreign_is_big);
        assert_eq!(native.options.len(), 5);
        assert_eq!(native.options[2].value, foreign64(5));
    }

    #[test]
    fn options_are_padded_and_ended() {
        let opts = [BlockOption {
            code: 2,
            value: b"lo".to_vec(),
        }];
        assert_eq!(options_len(&opts), 4 + 4 + 4);
        assert_eq!(options_len(&[]), 0);
    }
}
