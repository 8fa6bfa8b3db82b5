//! The live capture's `-w` file, and tcpdump's ring buffer around it: `-C` (a new file once
//! the current one is larger than SIZE), `-G` (a new file every SECS seconds, named by
//! strftime), `-W` (with -C, a ring of N files; with -G, stop after N files) and `-z` (a
//! command run on each file closed by a rotation), named and timed as tcpdump 4.99 does
//! (tcpdump.c `dump_packet_and_trunc`, `MakeFilename`). Each file is a complete pcap when it
//! is closed; the packet that triggers a rotation is the new file's first.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, Local};

use super::Captured;
use super::write::{FileHeader, PcapHeader, Writer};

/// tcpdump's -C, -G, -W and -z.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rotation {
    /// -C: bytes a file may exceed before the next packet opens a new one.
    pub size: Option<u64>,
    /// -G: seconds each file covers (by the clock, as tcpdump: not the packets' times).
    pub every: Option<i64>,
    /// -W: with -C, the ring's length; with -G, how many files before the capture stops.
    pub files: Option<u32>,
    /// -z: run as `COMMAND FILE` on each file a rotation closed.
    pub post: Option<String>,
}

impl Rotation {
    pub fn is_on(&self) -> bool {
        self.size.is_some() || self.every.is_some()
    }

    /// Checks the -w name as a strftime format (with -G): a bad conversion is one clear error.
    pub fn check_name(&self, base: &Path) -> Result<()> {
        if self.every.is_some()
            && StrftimeItems::new(&base.to_string_lossy()).any(|i| matches!(i, Item::Error))
        {
            bail!(
                "-w {}: with -G the name is a strftime format (e.g. cap-%Y%m%d-%H%M%S.pcap), and \
                 this one has a conversion strftime does not know",
                base.display()
            );
        }
        Ok(())
    }
}

/// -C's size: millions of bytes, or with a k, m or g suffix 1,024, 1,048,576 or
/// 1,073,741,824 bytes (tcpdump(1)).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let (digits, unit) = match text.chars().last() {
        Some('k' | 'K') => (&text[..text.len() - 1], 1 << 10),
        Some('m' | 'M') => (&text[..text.len() - 1], 1 << 20),
        Some('g' | 'G') => (&text[..text.len() - 1], 1 << 30),
        _ => (text, 1_000_000),
    };
    match digits.parse::<u64>() {
        Ok(n) if n > 0 => n
            .checked_mul(unit)
            .ok_or_else(|| format!("{text} is too large")),
        _ => Err(format!(
            "{text}: give a whole number of millions of bytes, or of k, m or g (e.g. 100, 512k)"
        )),
    }
}

/// tcpdump's MakeFilename: the -w name (through strftime with -G), then with -C the file's
/// number: zero-padded to -W's digits in a ring, else none on the first file.
fn make_name(base: &Path, rotation: &Rotation, count: u32, when: DateTime<Local>) -> PathBuf {
    let base = base.to_string_lossy();
    let mut name = if rotation.every.is_some() {
        when.format(&base).to_string()
    } else {
        base.into_owned()
    };
    if rotation.size.is_some() {
        match rotation.files {
            Some(w) => {
                let width = w.saturating_sub(1).max(1).ilog10() as usize + 1;
                name.push_str(&format!("{count:0width$}"));
            }
            None if count > 0 => name.push_str(&count.to_string()),
            None => {}
        }
    }
    PathBuf::from(name)
}

/// A new pcap file (`-`: stdout) with its header written.
fn pcap_file(path: &Path, header: PcapHeader) -> Result<Writer> {
    let mut out = Writer::create(path, &[])?;
    out.header(&FileHeader::Pcap(header))?;
    Ok(out)
}

/// What became of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Saved {
    Written,
    /// -G with -W: the last file is complete; the capture stops before this packet.
    Done,
}

/// The file being written, and the rotation's counters.
pub struct Saving {
    base: PathBuf,
    rotation: Rotation,
    header: PcapHeader,
    out: Writer,
    path: PathBuf,
    /// Bytes in the current file, its header included.
    written: u64,
    /// tcpdump's Cflag_count: the number in the name (reset by each -G rotation).
    size_count: u32,
    /// tcpdump's Gflag_count: files opened by time.
    time_count: u32,
    /// When the current -G interval began (the first file's opening, then each rotation).
    interval: DateTime<Local>,
}

impl Saving {
    /// Opens the first file (`-`: stdout, without rotation).
    pub fn create(base: &Path, rotation: Rotation, header: PcapHeader) -> Result<Saving> {
        let now = Local::now();
        let path = match base == Path::new("-") {
            true => base.to_path_buf(),
            false => make_name(base, &rotation, 0, now),
        };
        let out = pcap_file(&path, header)?;
        Ok(Saving {
            base: base.to_path_buf(),
            rotation,
            header,
            out,
            path,
            written: 24,
            size_count: 0,
            time_count: 0,
            interval: now,
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes the current file and opens the next (then runs -z on the closed one).
    fn open(&mut self, when: DateTime<Local>) -> Result<()> {
        let path = make_name(&self.base, &self.rotation, self.size_count, when);
        let out = pcap_file(&path, self.header)?;
        let old = std::mem::replace(&mut self.out, out);
        let closed = std::mem::replace(&mut self.path, path);
        old.finish()?;
        self.written = 24;
        self.post_rotate(&closed);
        Ok(())
    }

    /// `-z COMMAND FILE`, not waited for (tcpdump forks it); its fate is reported, not fatal.
    fn post_rotate(&self, closed: &Path) {
        let Some(cmd) = &self.rotation.post else {
            return;
        };
        match std::process::Command::new(cmd).arg(closed).spawn() {
            Ok(mut child) => {
                let _ = std::thread::Builder::new()
                    .name("tcplens-postrotate".into())
                    .spawn(move || child.wait());
            }
            Err(e) => {
                let _ = std::io::Write::write_all(
                    &mut std::io::stderr(),
                    format!("tcplens: -z {cmd} {}: {e}\n", closed.display()).as_bytes(),
                );
            }
        }
    }

    /// Writes one packet, rotating first when its time or the file's size says so.
    pub fn write(&mut self, packet: Captured<'_>) -> Result<Saved> {
        if let Some(every) = self.rotation.every {
            let now = Local::now();
            if (now - self.interval).num_seconds() >= every {
                self.time_count += 1;
                if self.rotation.files.is_some_and(|w| self.time_count >= w) {
                    return Ok(Saved::Done);
                }
                self.interval = now;
                self.size_count = 0;
                self.open(now)?;
            }
        }
        if let Some(size) = self.rotation.size
            && self.written > size
        {
            self.size_count += 1;
            if self.rotation.files.is_some_and(|w| self.size_count >= w) {
                self.size_count = 0;
            }
            self.open(self.interval)?;
        }
        self.out.write(packet)?;
        self.written += 16 + packet.data.len() as u64;
        Ok(Saved::Written)
    }

    pub fn flush(&mut self) -> Result<()> {
        self.out.flush()
    }

    /// Closes the last file (no -z for it: tcpdump runs it on rotation only).
    pub fn finish(self) -> Result<()> {
        self.out.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_tcpdump_reads_them() {
        assert_eq!(parse_size("2"), Ok(2_000_000));
        assert_eq!(parse_size("512k"), Ok(512 * 1024));
        assert_eq!(parse_size("3M"), Ok(3 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert!(parse_size("0").is_err());
        assert!(parse_size("1.5").is_err());
        assert!(parse_size("k").is_err());
    }

    #[test]
    fn names_follow_tcpdumps_make_filename() {
        let when = Local::now();
        let name = |base: &str, r: &Rotation, count| make_name(Path::new(base), r, count, when);
        let sized = Rotation {
            size: Some(1),
            ..Rotation::default()
        };
        assert_eq!(name("cap.pcap", &sized, 0), PathBuf::from("cap.pcap"));
        assert_eq!(name("cap.pcap", &sized, 2), PathBuf::from("cap.pcap2"));
        // A ring of 10 (-W 10): one digit, the first file numbered too; of 11, two.
        let mut ring = Rotation {
            files: Some(10),
            ..sized.clone()
        };
        assert_eq!(name("cap.pcap", &ring, 0), PathBuf::from("cap.pcap0"));
        ring.files = Some(11);
        assert_eq!(name("cap.pcap", &ring, 3), PathBuf::from("cap.pcap03"));
        // -G: strftime, no number without -C.
        let timed = Rotation {
            every: Some(60),
            files: Some(3),
            ..Rotation::default()
        };
        assert_eq!(
            name("cap-%Y.pcap", &timed, 0),
            PathBuf::from(format!("cap-{}.pcap", when.format("%Y")))
        );
    }

    #[test]
    fn an_unknown_strftime_conversion_is_refused_with_g() {
        let r = Rotation {
            every: Some(1),
            ..Rotation::default()
        };
        assert!(r.check_name(Path::new("cap-%Q.pcap")).is_err());
        assert!(r.check_name(Path::new("cap-%H%M%S.pcap")).is_ok());
        assert!(Rotation::default().check_name(Path::new("100%Q")).is_ok());
    }
}
