//! S3 test helpers: a real `strata server` process on temporary drive folders, and the real
//! clients (AWS CLI, boto3, s3cmd, rclone, curl) pointed at it. The server is killed and its
//! folders removed when the `Server` is dropped, also when a test fails (its log is printed
//! then). Clients only ever talk to 127.0.0.1 (proxies are bypassed explicitly).
#![allow(dead_code)]

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const MIB: usize = 1024 * 1024;
pub const AWS: &str = "/usr/bin/aws";
pub const S3CMD: &str = "/usr/bin/s3cmd";
pub const RCLONE: &str = "/usr/bin/rclone";
pub const CURL: &str = "curl";

/// Root credentials of test servers (not the `--dev` ones, which need `--dev`).
pub const USER: &str = "stratatest";
pub const SECRET: &str = "strata-test-secret-key";

/// The server binary: this build's, or `STRATA_TEST_BIN` (to show that a test fails on an
/// older build: build it, copy it away, point this at it).
pub fn bin() -> String {
    std::env::var("STRATA_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_strata").to_string())
}

/// The boto3 virtualenv made by hack/deps.sh.
pub fn venv_python() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run hack/deps.sh (python3 -m venv .venv && .venv/bin/pip install boto3)",
        p.display()
    );
    p
}

pub fn client_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients")
        .join(name)
}

/// A running server on its own drive folders.
pub struct Server {
    child: Option<Child>,
    pub endpoint: String,
    pub port: u16,
    /// Everything of this test: `drives/d1..dN`, `work/` (client files), the server log.
    pub tmp: tempfile::TempDir,
    pub drives: Vec<PathBuf>,
    pub log: PathBuf,
    /// The bearer token of `strata prometheus generate` for this server, once asked for.
    token: std::sync::OnceLock<String>,
    /// Environment of the server process beyond the root credentials and the log level.
    env: Vec<(String, String)>,
}

impl Server {
    /// 4 drives, parity 2 (the default for 4 drives).
    pub fn start() -> Server {
        Server::start_with(4, &[])
    }

    /// `n` drive folders, extra server arguments.
    pub fn start_with(n: usize, extra: &[&str]) -> Server {
        let tmp = tempfile::Builder::new()
            .prefix("strata-s3-")
            .tempdir()
            .unwrap();
        let drives: Vec<PathBuf> = (1..=n)
            .map(|i| tmp.path().join("drives").join(format!("d{i}")))
            .collect();
        for d in &drives {
            fs::create_dir_all(d).unwrap();
        }
        Server::start_in(tmp, drives, extra)
    }

    /// A server on the given drive paths (e.g. published CSI volumes), extra arguments.
    pub fn start_on(drives: Vec<PathBuf>, extra: &[&str]) -> Server {
        let tmp = tempfile::Builder::new()
            .prefix("strata-s3-")
            .tempdir()
            .unwrap();
        Server::start_in(tmp, drives, extra)
    }

    /// `n` drive folders, a server process with this environment too.
    pub fn start_with_env(n: usize, extra: &[&str], env: &[(String, String)]) -> Server {
        let tmp = tempfile::Builder::new()
            .prefix("strata-s3-")
            .tempdir()
            .unwrap();
        let drives: Vec<PathBuf> = (1..=n)
            .map(|i| tmp.path().join("drives").join(format!("d{i}")))
            .collect();
        for d in &drives {
            fs::create_dir_all(d).unwrap();
        }
        Server::start_in_env(tmp, drives, extra, env.to_vec())
    }

    fn start_in(tmp: tempfile::TempDir, drives: Vec<PathBuf>, extra: &[&str]) -> Server {
        Server::start_in_env(tmp, drives, extra, Vec::new())
    }

    fn start_in_env(
        tmp: tempfile::TempDir,
        drives: Vec<PathBuf>,
        extra: &[&str],
        env: Vec<(String, String)>,
    ) -> Server {
        fs::create_dir_all(tmp.path().join("work")).unwrap();
        let log = tmp.path().join("server.log");
        let mut s = Server {
            child: None,
            endpoint: String::new(),
            port: 0,
            tmp,
            drives,
            log,
            token: std::sync::OnceLock::new(),
            env,
        };
        s.launch(extra);
        s
    }

    /// Starts (or restarts) the server process on the same drives; waits for its endpoint.
    pub fn launch(&mut self, extra: &[&str]) {
        assert!(self.child.is_none(), "server already running");
        let logf = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut cmd = Command::new(bin());
        cmd.arg("server")
            .args(["--address", "127.0.0.1:0"])
            .args(extra)
            .args(&self.drives)
            .env("STRATA_ROOT_USER", USER)
            .env("STRATA_ROOT_PASSWORD", SECRET)
            // A test may ask for the per-request debug lines (STRATA_TEST_SERVER_LOG=strata=debug).
            .env(
                "RUST_LOG",
                std::env::var("STRATA_TEST_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(logf);
        let mut child = cmd.spawn().expect("cannot start strata server");
        let stdout = child.stdout.take().unwrap();
        self.child = Some(child);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Keep draining stdout so that the server never blocks on it.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(ep) = line.strip_prefix("Strata S3 endpoint: ") {
                    let _ = tx.send(ep.trim().to_string());
                }
            }
        });
        let ep = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(ep) => ep,
            Err(_) => panic!(
                "the server printed no endpoint within 30 s; log:\n{}",
                self.log_text()
            ),
        };
        let port: u16 = ep.rsplit(':').next().unwrap().parse().unwrap();
        assert!(
            ep.starts_with("http://127.0.0.1:"),
            "unexpected endpoint {ep}"
        );
        self.endpoint = ep;
        self.port = port;
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server not running").id()
    }

    pub fn work(&self) -> PathBuf {
        self.tmp.path().join("work")
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends a signal to the server process.
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill takes no pointers; at worst it fails (and the assert says so).
        let rc = unsafe { libc::kill(self.pid() as i32, sig) };
        assert_eq!(rc, 0, "kill failed");
    }

    /// Waits for the server to exit on its own (after a signal).
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let mut child = self.child.take().expect("server not running");
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                return st;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("server did not exit within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the server (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// `GET path` with curl; returns (HTTP status, body).
    pub fn http_get(&self, path: &str) -> (u16, String) {
        curl_status(&format!("{}{path}", self.endpoint), &[])
    }

    /// The scrape configuration `strata prometheus generate [PAGE]` prints for this server.
    pub fn scrape_config(&self, page: &str) -> String {
        let out = run(Command::new(bin())
            .args(["prometheus", "generate", page, "--endpoint", &self.endpoint])
            .env("STRATA_ROOT_USER", USER)
            .env("STRATA_ROOT_PASSWORD", SECRET));
        assert!(
            out.status.success(),
            "strata prometheus generate: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The bearer token of this server's scrape configuration.
    pub fn scrape_token(&self) -> &str {
        self.token.get_or_init(|| {
            let config = self.scrape_config("cluster");
            config
                .lines()
                .find_map(|l| l.trim().strip_prefix("bearer_token:"))
                .map(|t| t.trim().to_string())
                .unwrap_or_else(|| panic!("no bearer_token in:\n{config}"))
        })
    }

    /// A metrics page (`cluster`, `node`, `bucket`) read with the bearer token, as Prometheus
    /// scrapes it; asserts 200.
    pub fn metrics_page(&self, page: &str) -> String {
        let auth = format!("Authorization: Bearer {}", self.scrape_token());
        let (status, body) = curl_status(
            &format!("{}/minio/v2/metrics/{page}", self.endpoint),
            &["-H", &auth],
        );
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Every sample of a metrics page, by name and labels (the `server` label left out).
    pub fn metrics(&self, page: &str) -> std::collections::BTreeMap<String, f64> {
        samples(&self.metrics_page(page))
    }

    /// Peak resident memory of the server (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        proc_status_kib(self.pid(), "VmHWM")
    }

    // ---- clients ----

    fn client_env(&self, cmd: &mut Command) {
        let cfg = self.work().join(".aws-config");
        if !cfg.exists() {
            fs::write(&cfg, "[default]\nregion = us-east-1\n").unwrap();
        }
        cmd.env("AWS_ACCESS_KEY_ID", USER)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", &cfg)
            .env("AWS_SHARED_CREDENTIALS_FILE", self.work().join(".aws-none"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_PAGER", "")
            // No retries: a request that fails once is a failure the test must see.
            .env("AWS_MAX_ATTEMPTS", "1")
            .env("AWS_RETRY_MODE", "standard")
            .env("S3_ENDPOINT", &self.endpoint)
            .env("S3_ACCESS_KEY", USER)
            .env("S3_SECRET_KEY", SECRET)
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .env("HOME", self.work())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .current_dir(self.work());
        for v in [
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_S3",
            "AWS_CA_BUNDLE",
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "http_proxy",
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
        ] {
            cmd.env_remove(v);
        }
    }

    /// The AWS CLI v2 against this server.
    pub fn aws_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(AWS);
        self.client_env(&mut cmd);
        cmd.args(["--endpoint-url", &self.endpoint, "--no-cli-pager"])
            .args(args);
        cmd
    }

    pub fn aws(&self, args: &[&str]) -> Output {
        run(&mut self.aws_cmd(args))
    }

    /// Runs the AWS CLI, asserts success and returns stdout.
    pub fn aws_ok(&self, args: &[&str]) -> String {
        ok(self, self.aws(args), &format!("aws {}", args.join(" ")))
    }

    /// The venv's python running `tests/clients/<script>` against this server.
    pub fn py_cmd(&self, script: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(venv_python());
        self.client_env(&mut cmd);
        cmd.arg(client_script(script)).args(args);
        cmd
    }

    pub fn py(&self, script: &str, args: &[&str]) -> Output {
        run(&mut self.py_cmd(script, args))
    }

    pub fn py_ok(&self, script: &str, args: &[&str]) -> String {
        ok(
            self,
            self.py(script, args),
            &format!("python {script} {}", args.join(" ")),
        )
    }

    /// Runs a python client script that prints one JSON document; returns it.
    pub fn py_json(&self, script: &str, args: &[&str]) -> serde_json::Value {
        let out = self.py_ok(script, args);
        let last = out.lines().last().unwrap_or_default();
        serde_json::from_str(last).unwrap_or_else(|e| panic!("bad JSON from {script}: {e}: {out}"))
    }

    /// s3cmd with a generated config file (path-style, plain HTTP).
    pub fn s3cmd(&self, args: &[&str]) -> Output {
        let cfg = self.work().join(".s3cfg");
        let hostport = self.endpoint.trim_start_matches("http://");
        fs::write(
            &cfg,
            format!(
                "[default]\naccess_key = {USER}\nsecret_key = {SECRET}\nhost_base = {hostport}\n\
                 host_bucket = {hostport}\nuse_https = False\nsignature_v2 = False\n\
                 bucket_location = us-east-1\ncheck_ssl_certificate = False\nproxy_host =\n"
            ),
        )
        .unwrap();
        let mut cmd = Command::new(S3CMD);
        self.client_env(&mut cmd);
        cmd.arg("--config").arg(&cfg).args(args);
        run(&mut cmd)
    }

    pub fn s3cmd_ok(&self, args: &[&str]) -> String {
        ok(self, self.s3cmd(args), &format!("s3cmd {}", args.join(" ")))
    }

    /// rclone with a remote named `strata`, configured through environment variables.
    pub fn rclone(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(RCLONE);
        self.client_env(&mut cmd);
        cmd.env("RCLONE_CONFIG", self.work().join(".rclone.conf"))
            .env("RCLONE_CONFIG_STRATA_TYPE", "s3")
            .env("RCLONE_CONFIG_STRATA_PROVIDER", "Minio")
            .env("RCLONE_CONFIG_STRATA_ACCESS_KEY_ID", USER)
            .env("RCLONE_CONFIG_STRATA_SECRET_ACCESS_KEY", SECRET)
            .env("RCLONE_CONFIG_STRATA_ENDPOINT", &self.endpoint)
            .env("RCLONE_CONFIG_STRATA_REGION", "us-east-1")
            .env("RCLONE_CONFIG_STRATA_FORCE_PATH_STYLE", "true")
            .args(args);
        run(&mut cmd)
    }

    pub fn rclone_ok(&self, args: &[&str]) -> String {
        ok(
            self,
            self.rclone(args),
            &format!("rclone {}", args.join(" ")),
        )
    }

    /// Counts the drives holding metadata of `bucket/key` (plain keys only: no escaping).
    pub fn copies_on_drives(&self, bucket: &str, key: &str) -> usize {
        self.drives
            .iter()
            .filter(|d| d.join(bucket).join(key).join("%meta").is_file())
            .count()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = self.log_text();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            eprintln!("---- server log (last lines) ----");
            for l in tail.into_iter().rev() {
                eprintln!("{l}");
            }
        }
    }
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn ok(server: &Server, out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}\nserver log:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        tail(&server.log_text(), 30)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// curl: (status, body). Extra args go before the URL.
pub fn curl_status(url: &str, extra: &[&str]) -> (u16, String) {
    let out = run(Command::new(CURL)
        .args(["-sS", "--noproxy", "*", "--max-time", "60"])
        .args(["-w", "\n%{http_code}"])
        .args(extra)
        .arg(url));
    assert!(
        out.status.success(),
        "curl {url} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.trim().parse().unwrap(), body.to_string())
}

/// The samples of a Prometheus text page, keyed `name{label="v",...}` (or `name`) without the
/// `server` label every sample carries.
pub fn samples(text: &str) -> std::collections::BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.rsplit_once(' '))
        .filter_map(|(k, v)| Some((without_server(k), v.parse().ok()?)))
        .collect()
}

fn without_server(key: &str) -> String {
    let Some((name, labels)) = key.split_once('{') else {
        return key.to_string();
    };
    let labels: Vec<&str> = labels
        .trim_end_matches('}')
        .split(',')
        .filter(|l| !l.starts_with("server=") && !l.is_empty())
        .collect();
    if labels.is_empty() {
        name.to_string()
    } else {
        format!("{name}{{{}}}", labels.join(","))
    }
}

/// The `<Code>` of an S3 XML error document.
pub fn xml_code(body: &str) -> Option<String> {
    let start = body.find("<Code>")? + 6;
    let end = body[start..].find("</Code>")? + start;
    Some(body[start..end].to_string())
}

pub fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// Deterministic pseudo-random bytes (xorshift64*), fast enough for tens of MiB.
pub fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

pub fn write_file(path: &Path, bytes: &[u8]) {
    if let Some(p) = path.parent() {
        fs::create_dir_all(p).unwrap();
    }
    fs::File::create(path).unwrap().write_all(bytes).unwrap();
}

/// A large file of `mib` MiB: one pseudo-random MiB repeated, each copy stamped with its
/// index so that no two MiB are the same (fast to make, never all zeros).
pub fn write_big_file(path: &Path, mib: usize) {
    let mut block = data(MIB, 0xB16);
    let mut f = std::io::BufWriter::with_capacity(4 * MIB, fs::File::create(path).unwrap());
    for i in 0..mib {
        block[..8].copy_from_slice(&(i as u64).to_le_bytes());
        f.write_all(&block).unwrap();
    }
    f.flush().unwrap();
}

/// Whether two files have the same bytes (streamed, constant memory).
pub fn same_file(a: &Path, b: &Path) -> bool {
    let (fa, fb) = (fs::File::open(a).unwrap(), fs::File::open(b).unwrap());
    if fa.metadata().unwrap().len() != fb.metadata().unwrap().len() {
        return false;
    }
    let (mut ra, mut rb) = (
        BufReader::with_capacity(MIB, fa),
        BufReader::with_capacity(MIB, fb),
    );
    let (mut ba, mut bb) = (vec![0u8; MIB], vec![0u8; MIB]);
    loop {
        let n = read_full(&mut ra, &mut ba);
        let m = read_full(&mut rb, &mut bb);
        if n != m || ba[..n] != bb[..m] {
            return false;
        }
        if n == 0 {
            return true;
        }
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]).unwrap() {
            0 => break,
            k => n += k,
        }
    }
    n
}

/// Every path below `root` (files and directories), recursively, without following links.
pub fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out
}

/// A clock that libfaketime makes a process see: real time plus the offset in `file`, read
/// again at every call (so a test moves the server's and its clients' time together, by
/// writing e.g. `+21m`). Monotonic time is left alone: timers and deadlines run as usual.
pub struct FakeClock {
    pub file: PathBuf,
}

impl FakeClock {
    const LIB: &'static str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

    pub fn new(dir: &Path) -> FakeClock {
        assert!(
            Path::new(Self::LIB).exists(),
            "{} is missing: hack/deps.sh installs the faketime package",
            Self::LIB
        );
        let file = dir.join("faketime");
        fs::write(&file, "+0\n").unwrap();
        FakeClock { file }
    }

    /// The environment that puts a process on this clock.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("LD_PRELOAD", Self::LIB.to_string()),
            (
                "FAKETIME_TIMESTAMP_FILE",
                self.file.to_string_lossy().into_owned(),
            ),
            ("FAKETIME_NO_CACHE", "1".to_string()),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}
