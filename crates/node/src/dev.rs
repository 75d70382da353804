//! `routing-node dev`: a local L2 (anvil in OP Stack mode with the project's genesis) as a
//! child process.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
};

/// The devnet genesis, built into the binary (`genesis/genesis.json`, see `routing-genesis`).
pub const GENESIS: &str = include_str!("../../../genesis/genesis.json");

/// How to start the dev chain.
#[derive(Clone, Debug)]
pub struct DevChainOptions {
    /// The anvil binary.
    pub anvil: PathBuf,
    /// Where anvil listens (HTTP and WebSocket on one port).
    pub addr: SocketAddr,
    /// Seconds between blocks; 0 mines a block per transaction.
    pub block_time: u64,
    /// Folder for the genesis file and anvil's log.
    pub dir: PathBuf,
}

/// A running anvil, stopped on drop (and by the kernel if this process dies, even by SIGKILL).
#[derive(Debug)]
pub struct DevChain {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

/// The anvil to use: `$ANVIL_BIN`, the project's pinned `.tools/bin/anvil` (found from the
/// current directory upwards, or next to the sources), or `anvil` on `PATH`.
pub fn find_anvil() -> PathBuf {
    if let Some(bin) = std::env::var_os("ANVIL_BIN") {
        return bin.into();
    }
    let mut dir = std::env::current_dir().ok();
    while let Some(d) = dir {
        let candidate = d.join(".tools/bin/anvil");
        if candidate.exists() {
            return candidate;
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    routing_contracts::anvil::anvil_binary()
}

impl DevChain {
    /// Starts anvil: `--network optimism`, chain id 901, the genesis with the contracts
    /// pre-deployed, a 60 M gas limit, the current time as genesis timestamp.
    pub fn start(options: &DevChainOptions) -> eyre::Result<Self> {
        std::fs::create_dir_all(&options.dir)?;
        let genesis = options.dir.join("genesis.json");
        std::fs::write(&genesis, GENESIS)?;
        let log = options.dir.join("anvil.log");
        let log_file = std::fs::File::create(&log)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut command = Command::new(&options.anvil);
        command
            .args(routing_contracts::gas::anvil_args(&genesis))
            .args([
                "--host",
                &options.addr.ip().to_string(),
                "--port",
                &options.addr.port().to_string(),
            ])
            .args(["--timestamp", &now.to_string()])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file);
        if options.block_time > 0 {
            command.args(["--block-time", &options.block_time.to_string()]);
        }
        die_with_parent(&mut command);
        let child = command.spawn().map_err(|e| {
            eyre::eyre!(
                "cannot start anvil ({}): {e}; install the toolchain with scripts/install-toolchain.sh or set ANVIL_BIN",
                options.anvil.display()
            )
        })?;
        Ok(Self { child, addr: options.addr, log })
    }

    /// The HTTP URL.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The WebSocket URL.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// anvil's log file.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Whether anvil has exited, and how.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Stops anvil and waits for it.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for DevChain {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Makes the child receive SIGKILL when this process dies, however it dies (Linux
/// `PR_SET_PDEATHSIG`), so a killed node never leaves an orphaned chain behind.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: `prctl` is async-signal-safe and is the only call made between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}
