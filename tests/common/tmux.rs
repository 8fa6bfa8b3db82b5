//! A tmux server of a test's own, to drive the real binary in a terminal as a user would
//! (tests/tui.rs, tests/capture.rs): one 120×30 window running a command, keys sent to it, the
//! pane read back. The server goes away with the value, a failed assertion included.

use std::process::Command;
use std::time::Duration;

pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `command` in the window. Without tmux: None, after saying the test is skipped
    /// (and a failure under CI, which must run it: scripts/setup --test installs tmux).
    pub fn start(name: &str, command: &str) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must drive the view in tmux: scripts/setup --test installs it"
            );
            eprintln!("{name}: skipped: tmux missing (scripts/setup --test installs it)");
            return None;
        }
        let t = Tmux {
            socket: format!("tcplens-{name}-{}", std::process::id()),
        };
        t.run(&[
            "new-session",
            "-d",
            "-s",
            "view",
            "-x",
            "120",
            "-y",
            "30",
            command,
        ]);
        Some(t)
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("run tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types `keys` (tmux key names) into the window.
    pub fn keys(&self, keys: &[&str]) {
        self.run(&[&["send-keys", "-t", "view"][..], keys].concat());
    }

    /// Waits up to 6 s for the pane to show `needle`; returns the pane.
    pub fn pane_with(&self, needle: &str) -> String {
        let mut pane = String::new();
        for _ in 0..60 {
            pane = self.run(&["capture-pane", "-p", "-t", "view"]);
            if pane.contains(needle) {
                return pane;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the pane never showed {needle:?}:\n{pane}");
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}
