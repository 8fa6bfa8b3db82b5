//! `tcplens demo`: the learn_tcp experiment of the articles, run inside the process and
//! captured live on lo — or, without capture privileges, the bundled recording of the same
//! experiment (fixtures/learn_tcp.pcap, recorded from the kernel by scripts/record-fixtures).
//!
//! The experiment: a server on 127.0.0.1:5200 sends "Hello!"; a client bound to port 5201
//! sends user1, user2 and user3, each answered "Hi, <name>, I got you!" after a second, then
//! "exit", and closes; the server closes a second later. Twenty segments: handshake, data,
//! four-way close, the client left in TIME_WAIT.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};

use crate::cli::{DemoConfig, Output};
use crate::pipeline;
use crate::source::live;

pub const SERVER: &str = "127.0.0.1:5200";
pub const CLIENT: &str = "127.0.0.1:5201";
/// What the demo captures: the experiment's segments, nothing else on lo.
const FILTER: &str = "tcp port 5200";
/// The experiment recorded from the kernel's own stack (see fixtures/README.md).
pub const RECORDING: &[u8] = include_bytes!("../fixtures/learn_tcp.pcap");
pub const RECORDING_NAME: &str = "the bundled recording (fixtures/learn_tcp.pcap)";
/// The server thinks this long before each answer, as the experiment's server sleeps.
const THINK: Duration = Duration::from_secs(1);
/// No socket call of the experiment may hang the demo.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the live experiment could not start; the demo then replays the recording.
struct Fallback(String);

pub fn run(cfg: &DemoConfig) -> Result<()> {
    if !cfg.replay {
        match live_demo(cfg) {
            Ok(result) => return result,
            // Not eprintln!: it panics when stderr is a closed pipe (`2>&1 >/dev/null | true`).
            Err(Fallback(why)) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "tcplens: {why}; replaying the bundled recording of the same experiment \
                     instead"
                );
            }
        }
    }
    if cfg.tui {
        return replay_tui(cfg.output);
    }
    pipeline::replay(RECORDING_NAME, RECORDING, cfg.output)
}

/// The recording in the interactive view: written to a temporary file, which the view
/// reads (and reads again for its panes), removed at the end.
fn replay_tui(output: Output) -> Result<()> {
    let mut file = tempfile::Builder::new()
        .prefix("tcplens-demo-")
        .suffix(".pcap")
        .tempfile_in(crate::render::spill_dir())
        .context("cannot write the recording to a temporary file")?;
    file.write_all(RECORDING)?;
    file.flush()?;
    pipeline::tui(&crate::cli::Config {
        input: crate::source::merge::Inputs::one(file.path().to_path_buf()),
        filter: None,
        output,
        query: Default::default(),
        limits: Default::default(),
        write: None,
        threads: 1,
    })
}

/// Opens the capture and the server; `Err` when either is impossible (the caller replays),
/// `Ok(result)` once the experiment ran.
fn live_demo(cfg: &DemoConfig) -> Result<Result<()>, Fallback> {
    let output = cfg.output;
    let opts = live::Options {
        interface: Some("lo".into()),
        count: None,
        write: None,
        snaplen: live::DEFAULT_SNAPLEN,
        buffer_bytes: (live::DEFAULT_BUFFER_KIB * 1024) as i32,
        promisc: false,
        nanos: false,
        filter: Some(FILTER.into()),
        // The demo's rows quote what was said (--payload).
        keep_bytes: true,
        rotation: Default::default(),
    };
    let capture = live::open(opts.clone()).map_err(|e| {
        let msg = format!("{e:#}");
        Fallback(if msg.starts_with("no permission") {
            "no permission to capture on lo (run `sudo tcplens demo` to capture the experiment \
             live)"
                .into()
        } else {
            msg
        })
    })?;
    let busy = |addr: &str, e: std::io::Error| {
        Fallback(format!(
            "cannot use {addr} ({e}): is another program using the port?"
        ))
    };
    let listener = TcpListener::bind(SERVER).map_err(|e| busy(SERVER, e))?;
    let client = client_socket().map_err(|e| busy(CLIENT, e))?;
    let _ = writeln!(
        std::io::stderr(),
        "tcplens demo: server {SERVER}, client {CLIENT}, capturing on lo ({FILTER}); about 4 s"
    );
    if cfg.tui {
        // The view captures on its own (it writes the capture to a temporary file for its
        // panes); the experiment runs beside it, and the view stays until `q`.
        drop(capture);
        let mut worker = None;
        let cfg = crate::cli::CaptureConfig {
            live: opts,
            output,
            query: Default::default(),
            limits: Default::default(),
            print: true,
            follow: None,
            tui: true,
        };
        let viewed = pipeline::capture_then(&cfg, || {
            worker = Some(thread::spawn(move || experiment(listener, client)));
        });
        let worked = match worker.map(|w| w.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(anyhow!("the demo thread panicked")),
            None => Ok(()),
        };
        return Ok(viewed.and(worked));
    }
    Ok(pipeline::capture_while(capture, output, move || {
        experiment(listener, client)
    }))
}

/// The client's socket, bound to its port before anything is captured.
fn client_socket() -> std::io::Result<socket2::Socket> {
    use socket2::{Domain, Socket, Type};
    let local: SocketAddr = CLIENT.parse().map_err(std::io::Error::other)?;
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    // The previous demo's client may still be in TIME_WAIT on this port pair: Linux lets a
    // new connection reuse it (tcp_tw_reuse covers loopback by default) once bound with
    // SO_REUSEADDR.
    socket.set_reuse_address(true)?;
    socket.bind(&local.into())?;
    Ok(socket)
}

/// The experiment itself; returns once both sides closed.
fn experiment(listener: TcpListener, client: socket2::Socket) -> Result<()> {
    let server = thread::Builder::new()
        .name("demo-server".into())
        .spawn(move || serve(listener))
        .context("cannot start the demo server")?;
    let client = converse(client);
    let served = server
        .join()
        .map_err(|_| anyhow!("the demo server panicked"))?;
    client.and(served)
}

fn serve(listener: TcpListener) -> Result<()> {
    let (mut conn, _) = listener.accept().context("demo server: accept")?;
    drop(listener);
    conn.set_read_timeout(Some(IO_TIMEOUT))?;
    conn.write_all(b"Hello!")?;
    let mut buf = [0u8; 1024];
    loop {
        let n = conn.read(&mut buf).context("demo server: read")?;
        thread::sleep(THINK);
        let got = String::from_utf8_lossy(&buf[..n]);
        if n == 0 || got == "exit" {
            break;
        }
        conn.write_all(format!("Hi, {got}, I got you!").as_bytes())?;
    }
    // Dropping the socket closes it: the server's FIN.
    Ok(())
}

fn converse(socket: socket2::Socket) -> Result<()> {
    let server: SocketAddr = SERVER.parse()?;
    socket
        .connect_timeout(&server.into(), IO_TIMEOUT)
        .with_context(|| format!("demo client: cannot connect to {SERVER}"))?;
    let mut conn: TcpStream = socket.into();
    conn.set_read_timeout(Some(IO_TIMEOUT))?;
    let mut buf = [0u8; 1024];
    conn.read(&mut buf).context("demo client: read")?;
    for name in ["user1", "user2", "user3"] {
        conn.write_all(name.as_bytes())?;
        conn.read(&mut buf).context("demo client: read")?;
    }
    conn.write_all(b"exit")?;
    // Dropping the socket closes it: the client's FIN, and the client ends in TIME_WAIT.
    Ok(())
}
