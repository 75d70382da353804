//! Starts anvil on a free loopback port and talks JSON-RPC to it, for tests and the gas report.
//!
//! Anvil is started with `--port 0` and the port is read from its `Listening on` line, so two
//! tests never race for a port; it is killed when the [`Anvil`] is dropped. The JSON-RPC client
//! is a minimal HTTP/1.1 client over a loopback `TcpStream`: nothing here ever talks to a
//! non-loopback address.

use serde_json::{json, Value};
use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

/// Why anvil or a JSON-RPC call failed.
#[derive(Debug, thiserror::Error)]
pub enum AnvilError {
    /// Anvil could not be started.
    #[error("cannot start anvil ({binary}): {reason}")]
    Start {
        /// The binary tried.
        binary: String,
        /// What went wrong.
        reason: String,
    },
    /// The HTTP exchange failed.
    #[error("json-rpc transport: {0}")]
    Transport(String),
    /// The node answered with a JSON-RPC error.
    #[error("json-rpc error {code}: {message}")]
    Rpc {
        /// Error code.
        code: i64,
        /// Error message.
        message: String,
        /// Error data (revert data for `eth_call`), if any.
        data: Option<Value>,
    },
}

/// The anvil binary: `$ANVIL_BIN`, else the project's pinned `.tools/bin/anvil` if installed,
/// else `anvil` on `PATH`.
pub fn anvil_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("ANVIL_BIN") {
        return bin.into();
    }
    let pinned = crate::artifacts::contracts_dir().join("../.tools/bin/anvil");
    if pinned.exists() {
        pinned
    } else {
        "anvil".into()
    }
}

/// A running anvil, killed on drop.
#[derive(Debug)]
pub struct Anvil {
    child: Child,
    rpc: RpcClient,
}

impl Anvil {
    /// Starts anvil with `args` (on top of `--host 127.0.0.1 --port 0`) and waits until it
    /// listens (at most 60 s).
    pub fn spawn<I, S>(args: I) -> Result<Self, AnvilError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let binary = anvil_binary();
        let fail =
            |reason: String| AnvilError::Start { binary: binary.display().to_string(), reason };
        let mut child = Command::new(&binary)
            .args(["--host", "127.0.0.1", "--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| fail(e.to_string()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        // Reads anvil's output until it says where it listens, then keeps draining it so anvil
        // never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if !sent {
                    if let Some(addr) = line.strip_prefix("Listening on ") {
                        let _ = tx.send(addr.trim().to_string());
                        sent = true;
                    }
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                let mut err = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    let _ = stderr.read_to_string(&mut err);
                }
                let _ = child.wait();
                return Err(fail(format!("it did not report a listening address: {}", err.trim())));
            }
        };
        Ok(Self { child, rpc: RpcClient::new(&addr) })
    }

    /// The process id of the anvil child.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The JSON-RPC client for this node.
    pub fn rpc(&self) -> &RpcClient {
        &self.rpc
    }

    /// The node's HTTP URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.rpc.addr)
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking JSON-RPC client for a loopback `host:port`.
#[derive(Clone, Debug)]
pub struct RpcClient {
    addr: String,
}

impl RpcClient {
    /// A client for `addr` (`127.0.0.1:8545`).
    pub fn new(addr: &str) -> Self {
        Self { addr: addr.trim_start_matches("http://").trim_end_matches('/').to_string() }
    }

    /// Calls `method` with `params` and returns the `result`.
    pub fn call(&self, method: &str, params: Value) -> Result<Value, AnvilError> {
        let body =
            json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
        let transport = |e: std::io::Error| AnvilError::Transport(e.to_string());
        let mut stream = TcpStream::connect(&self.addr).map_err(transport)?;
        stream.set_read_timeout(Some(Duration::from_secs(120))).map_err(transport)?;
        write!(
            stream,
            "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
            self.addr,
            body.len(),
            body
        )
        .map_err(transport)?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).map_err(transport)?;
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| AnvilError::Transport("no HTTP header end".into()))?;
        let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
        let mut body = raw[split + 4..].to_vec();
        if head.contains("transfer-encoding: chunked") {
            body = dechunk(&body)?;
        }
        let reply: Value = serde_json::from_slice(&body)
            .map_err(|e| AnvilError::Transport(format!("bad JSON reply: {e}")))?;
        if let Some(err) = reply.get("error") {
            return Err(AnvilError::Rpc {
                code: err["code"].as_i64().unwrap_or_default(),
                message: err["message"].as_str().unwrap_or_default().to_string(),
                data: err.get("data").cloned(),
            });
        }
        Ok(reply["result"].clone())
    }
}

impl RpcClient {
    /// Waits for the receipt of transaction `hash` (anvil's automine answers
    /// `eth_sendTransaction` before the block is sealed) and returns it; gives up after `timeout`.
    pub fn receipt(&self, hash: &Value, timeout: Duration) -> Result<Value, AnvilError> {
        let start = std::time::Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            let receipt = self.call("eth_getTransactionReceipt", json!([hash]))?;
            if !receipt.is_null() {
                return Ok(receipt);
            }
            if start.elapsed() > timeout {
                return Err(AnvilError::Transport(format!(
                    "no receipt for {hash} after {timeout:?}"
                )));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }
}

fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, AnvilError> {
    let bad = || AnvilError::Transport("bad chunked body".into());
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n").ok_or_else(bad)?;
        let size_text = std::str::from_utf8(&body[..line_end]).map_err(|_| bad())?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| bad())?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(body.get(..size).ok_or_else(bad)?);
        body = body.get(size + 2..).ok_or_else(bad)?;
    }
}
