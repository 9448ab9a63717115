//! Hostile clients cost a bounded amount: a connection that never finishes its headers is
//! closed, and running out of file descriptors neither spins the accept loop nor floods the
//! log; the server serves again once the connections are gone.

mod s3_support;

use s3_support::Server;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

fn connect(s: &Server) -> TcpStream {
    TcpStream::connect(("127.0.0.1", s.port)).unwrap()
}

/// A request whose headers never end (slowloris) is closed after `--header-timeout`, on a new
/// connection and between the requests of a kept-alive one.
#[test]
fn connections_that_never_finish_their_headers_are_closed() {
    let s = Server::start_with(4, &["--header-timeout", "1s"]);
    let mut partial = connect(&s);
    partial
        .write_all(b"GET /minio/health/live HTTP/1.1\r\nHost: a\r\nX-Slow: ")
        .unwrap();
    // After one whole request, the kept-alive connection waits for the next one's headers.
    let mut idle = connect(&s);
    idle.write_all(b"GET /minio/health/live HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    for (name, c) in [("partial headers", &mut partial), ("kept alive", &mut idle)] {
        c.set_read_timeout(Some(Duration::from_secs(8))).unwrap();
        let t = Instant::now();
        let mut got = Vec::new();
        let r = c.read_to_end(&mut got);
        assert!(
            r.is_ok() && t.elapsed() < Duration::from_secs(5),
            "{name}: {r:?} after {:?}, read {:?}",
            t.elapsed(),
            String::from_utf8_lossy(&got)
        );
    }
    assert_eq!(s.http_get("/minio/health/live").0, 200);
}

/// CPU seconds (user + system) the process has used so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime), counted from 1 with pid and comm before the ')'.
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// At the file descriptor limit the accept loop backs off (it used to retry at once: a full
/// core and tens of MB/s of log lines); once the connections close, it serves again.
#[test]
fn running_out_of_file_descriptors_costs_no_cpu_and_recovers() {
    let s = Server::start();
    let pid = s.pid();
    let limit = Command::new("prlimit")
        .args(["--pid", &pid.to_string(), "--nofile=96:96"])
        .status()
        .unwrap();
    assert!(limit.success(), "prlimit failed");
    // More connections than descriptors: the kernel completes them into the backlog, the
    // server's accept fails with EMFILE.
    let conns: Vec<TcpStream> = (0..200).map(|_| connect(&s)).collect();
    std::thread::sleep(Duration::from_millis(500));
    let log_before = s.log_text().len();
    let cpu_before = cpu_seconds(pid);
    std::thread::sleep(Duration::from_secs(3));
    let cpu = cpu_seconds(pid) - cpu_before;
    let logged = s.log_text().len() - log_before;
    assert!(
        cpu < 0.5,
        "{cpu:.2} CPU seconds in 3 s at the descriptor limit"
    );
    assert!(
        logged < 20_000,
        "{logged} bytes of log in 3 s at the descriptor limit"
    );
    drop(conns);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if s.http_get("/minio/health/live").0 == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no answer after the connections closed"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
