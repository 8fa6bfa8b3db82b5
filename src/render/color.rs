//! Wireshark's default coloring rules as terminal colors.
//!
//! Rules are Wireshark's `colorfilters` defaults, first match wins, restricted to those that
//! can match what tcplens decodes: Bad TCP, TCP RST, TCP SYN/FIN and TCP for TCP rows (the
//! order the issue names), then ARP, ICMP and UDP for other rows. Protocol rules above TCP
//! (HTTP on port 80, SMB, …) are left out on purpose: tcplens shows the TCP layer, and
//! a SYN on port 80 should look like every other SYN.

use owo_colors::{Style, XtermColors};

use crate::cli::ColorChoice;

/// How (and whether) rows are colored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorMode {
    Off,
    /// xterm 256-color approximations of Wireshark's RGB colors.
    Ansi256,
    /// 24-bit colors, when COLORTERM says the terminal has them.
    Truecolor,
}

impl ColorMode {
    /// `--color` with the environment: `never`/`always` are explicit; `auto` colors a terminal
    /// unless NO_COLOR is set, and CLICOLOR_FORCE colors even a pipe. JSON is never colored.
    pub fn choose(
        choice: ColorChoice,
        json: bool,
        stdout_is_tty: bool,
        no_color: bool,
        clicolor_force: bool,
        truecolor: bool,
    ) -> ColorMode {
        let on = !json
            && match choice {
                ColorChoice::Never => false,
                ColorChoice::Always => true,
                ColorChoice::Auto => !no_color && (clicolor_force || stdout_is_tty),
            };
        match (on, truecolor) {
            (false, _) => ColorMode::Off,
            (true, true) => ColorMode::Truecolor,
            (true, false) => ColorMode::Ansi256,
        }
    }
}

/// One of Wireshark's default coloring rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Rule {
    /// `tcp.analysis.flags && !tcp.analysis.window_update && !tcp.analysis.keep_alive &&
    /// !tcp.analysis.keep_alive_ack`
    BadTcp,
    /// `tcp.flags.reset eq 1`
    TcpRst,
    /// `tcp.flags & 0x02 || tcp.flags.fin == 1`
    TcpSynFin,
    /// `tcp`
    Tcp,
    Arp,
    Icmp,
    Udp,
}

impl Rule {
    /// (foreground, background) as Wireshark's colorfilters file gives them.
    pub fn rgb(self) -> ([u8; 3], [u8; 3]) {
        const DARK: [u8; 3] = [0x12, 0x27, 0x2e];
        match self {
            Rule::BadTcp => ([0xf7, 0x87, 0x87], DARK),
            Rule::TcpRst => ([0xff, 0xfc, 0x9c], [0xa4, 0x00, 0x00]),
            Rule::TcpSynFin => (DARK, [0xa0, 0xa0, 0xa0]),
            Rule::Tcp => (DARK, [0xe7, 0xe6, 0xff]),
            Rule::Arp => (DARK, [0xfa, 0xf0, 0xd7]),
            Rule::Icmp => (DARK, [0xfc, 0xe0, 0xff]),
            Rule::Udp => (DARK, [0xda, 0xee, 0xff]),
        }
    }

    pub fn style(self, mode: ColorMode) -> Option<Style> {
        let ([fr, fg, fb], [br, bg, bb]) = self.rgb();
        match mode {
            ColorMode::Off => None,
            ColorMode::Truecolor => {
                Some(Style::new().truecolor(fr, fg, fb).on_truecolor(br, bg, bb))
            }
            ColorMode::Ansi256 => Some(
                Style::new()
                    .color(XtermColors::from(xterm256([fr, fg, fb])))
                    .on_color(XtermColors::from(xterm256([br, bg, bb]))),
            ),
        }
    }
}

/// Nearest xterm 256-color index: the 6×6×6 cube or the 24-step gray ramp.
pub fn xterm256([r, g, b]: [u8; 3]) -> u8 {
    const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    let nearest_level = |c: u8| {
        (0..6)
            .min_by_key(|&i| (LEVELS[i] as i32 - c as i32).abs())
            .unwrap_or(0) as u8
    };
    let (ri, gi, bi) = (nearest_level(r), nearest_level(g), nearest_level(b));
    let cube = [
        LEVELS[ri as usize],
        LEVELS[gi as usize],
        LEVELS[bi as usize],
    ];
    let avg = (r as u32 + g as u32 + b as u32) / 3;
    let gray_i = (avg.saturating_sub(8) / 10).min(23) as u8;
    let gray_v = 8 + 10 * gray_i;
    let dist = |c: [u8; 3]| -> u32 {
        c.iter()
            .zip([r, g, b])
            .map(|(a, b)| (*a as i32 - b as i32).pow(2) as u32)
            .sum()
    };
    if dist([gray_v; 3]) < dist(cube) {
        232 + gray_i
    } else {
        16 + 36 * ri + 6 * gi + bi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_off_in_a_pipe_and_on_in_a_terminal() {
        let auto =
            |tty, no, force| ColorMode::choose(ColorChoice::Auto, false, tty, no, force, false);
        assert_eq!(auto(false, false, false), ColorMode::Off);
        assert_eq!(auto(true, false, false), ColorMode::Ansi256);
        assert_eq!(
            auto(true, true, false),
            ColorMode::Off,
            "NO_COLOR wins over a terminal"
        );
        assert_eq!(
            auto(false, false, true),
            ColorMode::Ansi256,
            "CLICOLOR_FORCE colors a pipe"
        );
    }

    #[test]
    fn always_uses_truecolor_when_colorterm_says_so() {
        let m = ColorMode::choose(ColorChoice::Always, false, false, false, false, true);
        assert_eq!(m, ColorMode::Truecolor);
        let json = ColorMode::choose(ColorChoice::Always, true, true, false, false, true);
        assert_eq!(json, ColorMode::Off, "JSON is never colored");
    }

    #[test]
    fn gray_and_cube_approximations() {
        assert_eq!(xterm256([0xa0, 0xa0, 0xa0]), 247);
        assert_eq!(xterm256([0xa4, 0, 0]), 124);
        assert_eq!(xterm256([0, 0, 0]), 16);
    }
}
