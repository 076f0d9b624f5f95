//! Runs QEMU (TCG: there is no usable KVM here) with the firmware as a PVH
//! kernel (x86_64 q35) or an arm64 Image (aarch64 `virt`), or placed by the
//! caller (see [`Loading`]), captures the serial console with the time each
//! line arrived, and waits for expected output with timeouts. QEMU is killed when the handle is dropped.

pub use crate::debian::Arch;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How the firmware gets into the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loading {
    /// QEMU's `-kernel`: a PVH ELF on x86_64, an arm64 Image at QEMU's own
    /// address with QEMU's device tree on aarch64, OpenSBI's next stage on riscv64.
    KernelOption,
    /// Not by QEMU: `extra_args` place the firmware (and whatever a VMM hands
    /// it) with QEMU's generic loader, to reproduce another VMM's layout.
    ExtraArgs,
}

/// Where the machine's virtio entropy device sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rng {
    /// `virtio-rng-pci` (transitional, as QEMU makes it on the root bus).
    Pci,
    /// `virtio-rng-device` on a virtio-mmio slot (aarch64 and riscv64 `virt`).
    Mmio,
}

/// What to boot and how.
#[derive(Clone, Debug)]
pub struct QemuConfig {
    /// Which machine: x86_64 q35 (`Arch::Amd64`) or aarch64 `virt` (`Arch::Arm64`).
    pub arch: Arch,
    pub firmware: PathBuf,
    pub loading: Loading,
    pub memory: String,
    /// Raw disk images, attached as modern-only virtio-blk PCI devices in order.
    pub disks: Vec<PathBuf>,
    /// Raw disk images attached as virtio-mmio block devices (aarch64 `virt`
    /// only), after the PCI ones.
    pub mmio_disks: Vec<PathBuf>,
    /// Written to by the guest? Tests keep cached images pristine with `snapshot`.
    pub snapshot: bool,
    /// The PVH command line (`-append`).
    pub append: Option<String>,
    /// `-cpu` instead of the machine's usual model (x86_64: `max`).
    pub cpu: Option<String>,
    /// `-smp`: how many vCPUs.
    pub smp: u32,
    /// A virtio entropy device: aarch64's Cortex-A57 has no RNDR and riscv64 no
    /// random instruction, so their machines get one (x86_64's `max` has RDRAND).
    pub rng: Option<Rng>,
    pub extra_args: Vec<String>,
    /// Open a QMP socket ([`Qemu::qmp`]) to look at the screen or type keys.
    pub qmp: bool,
}

impl QemuConfig {
    pub fn new(firmware: &Path) -> QemuConfig {
        QemuConfig {
            arch: Arch::Amd64,
            firmware: firmware.to_path_buf(),
            loading: Loading::KernelOption,
            memory: "512M".into(),
            disks: Vec::new(),
            mmio_disks: Vec::new(),
            snapshot: true,
            append: None,
            cpu: None,
            smp: 1,
            rng: None,
            extra_args: Vec::new(),
            qmp: false,
        }
    }

    /// The aarch64 `virt` machine with a Cortex-A57, booting `firmware` (an
    /// arm64 Image) with `-kernel`.
    pub fn aarch64(firmware: &Path) -> QemuConfig {
        QemuConfig {
            arch: Arch::Arm64,
            rng: Some(Rng::Pci),
            ..QemuConfig::new(firmware)
        }
    }

    /// The riscv64 `virt` machine with QEMU's OpenSBI, booting `firmware` (an
    /// ELF linked at 0x80200000, OpenSBI's next stage) with `-kernel`.
    pub fn riscv64(firmware: &Path) -> QemuConfig {
        QemuConfig {
            arch: Arch::Riscv64,
            rng: Some(Rng::Pci),
            ..QemuConfig::new(firmware)
        }
    }

    /// The QEMU program for the machine.
    pub fn program(&self) -> &'static str {
        match self.arch {
            Arch::Amd64 => "qemu-system-x86_64",
            Arch::Arm64 => "qemu-system-aarch64",
            Arch::Riscv64 => "qemu-system-riscv64",
        }
    }

    /// QEMU's arguments, without the serial console (the caller chooses).
    pub fn args(&self) -> Vec<String> {
        let firmware = self.firmware.to_string_lossy();
        let (machine, default_cpu): (&[&str], Option<&str>) = match self.arch {
            Arch::Amd64 => (
                // No display unless a test adds one (`-vga std`, `-device
                // bochs-display`, ...): q35 would otherwise bring a standard VGA.
                &[
                    "-machine",
                    "q35,accel=tcg",
                    "-vga",
                    "none",
                    "-device",
                    "isa-debug-exit,iobase=0xf4,iosize=0x04",
                ],
                Some("max"),
            ),
            // No isa-debug-exit here: test builds power off through PSCI after
            // a failure report, and the tests look for the report.
            Arch::Arm64 => (&["-machine", "virt,accel=tcg"], Some("cortex-a57")),
            // QEMU's OpenSBI (fw_dynamic) starts the firmware in S-mode.
            Arch::Riscv64 => (&["-machine", "virt,accel=tcg", "-bios", "default"], None),
        };
        let mut args: Vec<String> = machine.iter().map(|s| s.to_string()).collect();
        if let Some(cpu) = self.cpu.as_deref().or(default_cpu) {
            args.extend(["-cpu".into(), cpu.into()]);
        }
        if self.smp > 1 {
            args.extend(["-smp".into(), self.smp.to_string()]);
        }
        args.extend(["-m", &self.memory, "-display", "none", "-no-reboot"].map(|s| s.to_string()));
        if self.loading == Loading::KernelOption {
            args.extend(["-kernel".into(), firmware.into_owned()]);
        }
        if let Some(append) = &self.append {
            args.extend(["-append".into(), append.clone()]);
        }
        for (i, disk) in self.disks.iter().enumerate() {
            let snapshot = if self.snapshot { ",snapshot=on" } else { "" };
            args.push("-drive".into());
            args.push(format!(
                "if=none,id=disk{i},format=raw,file={}{snapshot}",
                disk.display()
            ));
            args.push("-device".into());
            // The serial is what virtio-blk's GET_ID (and so DiskInfo) reports.
            args.push(format!(
                "virtio-blk-pci,drive=disk{i},disable-legacy=on,serial=hvfw-disk{i}"
            ));
        }
        for (i, disk) in self.mmio_disks.iter().enumerate() {
            let snapshot = if self.snapshot { ",snapshot=on" } else { "" };
            args.push("-drive".into());
            args.push(format!(
                "if=none,id=mmio{i},format=raw,file={}{snapshot}",
                disk.display()
            ));
            args.push("-device".into());
            args.push(format!("virtio-blk-device,drive=mmio{i},serial=hvfw-mmio{i}"));
        }
        match self.rng {
            Some(Rng::Pci) => args.extend(["-device".into(), "virtio-rng-pci".into()]),
            Some(Rng::Mmio) => args.extend(["-device".into(), "virtio-rng-device".into()]),
            None => {}
        }
        if !self.mmio_disks.is_empty() || self.rng == Some(Rng::Mmio) {
            // QEMU's virtio-mmio is the legacy (version 1) interface unless told.
            args.extend(["-global".into(), "virtio-mmio.force-legacy=false".into()]);
        }
        args.extend(self.extra_args.iter().cloned());
        args
    }
}

/// The console as it arrived: text, and when each line ended.
#[derive(Default)]
struct Console {
    text: String,
    line_times: Vec<(usize, Duration)>,
    /// Output streams (stdout, stderr) that reached end of file.
    streams_closed: usize,
}

impl Console {
    fn closed(&self) -> bool {
        self.streams_closed == 2
    }
}

pub struct Qemu {
    child: Child,
    stdin: Option<ChildStdin>,
    console: Arc<(Mutex<Console>, Condvar)>,
    started: Instant,
    /// How far `wait_for` has matched: each wait searches after the last match.
    cursor: usize,
    /// Lines that end every wait when they appear before what it waits for:
    /// (marker, what it means).
    failures: Vec<(String, String)>,
    /// What is running, named in a timeout's message.
    stuck_label: Option<String>,
    /// Where QEMU listens for QMP, when the configuration asked for it.
    qmp_socket: Option<PathBuf>,
}

impl Qemu {
    pub fn spawn(config: &QemuConfig) -> Result<Qemu, String> {
        let program = config.program();
        let qmp_socket = config.qmp.then(|| crate::qmp::scratch_path("qmp", "sock"));
        let mut qmp_args = Vec::new();
        if let Some(socket) = &qmp_socket {
            let _ = std::fs::remove_file(socket);
            qmp_args.push("-qmp".to_string());
            qmp_args.push(format!("unix:{},server=on,wait=off", socket.display()));
        }
        let mut child = Command::new(program)
            .args(config.args())
            .args(qmp_args)
            .args([
                "-monitor",
                "none",
                "-chardev",
                "stdio,id=console,signal=off",
                "-serial",
                "chardev:console",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {program}: {e}"))?;
        let started = Instant::now();
        let console = Arc::new((Mutex::new(Console::default()), Condvar::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let console = console.clone();
            thread::spawn(move || capture(stream, console, started));
        }
        let stdin = child.stdin.take();
        Ok(Qemu {
            child,
            stdin,
            console,
            started,
            cursor: 0,
            failures: Vec::new(),
            stuck_label: None,
            qmp_socket,
        })
    }

    /// A QMP connection to this QEMU; the configuration must have set `qmp`.
    pub fn qmp(&self) -> Result<crate::qmp::Qmp, String> {
        let socket = self.qmp_socket.as_ref().ok_or("QEMU was started without QMP")?;
        crate::qmp::Qmp::connect(socket)
    }

    /// Waits until `needle` appears after the previous match; returns the time
    /// since QEMU started when the line holding it arrived.
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) -> Result<Duration, String> {
        let deadline = Instant::now() + timeout;
        let (lock, ready) = &*self.console;
        let mut console = lock.lock().unwrap();
        loop {
            let found = console.text[self.cursor..].find(needle);
            let failure = self
                .failures
                .iter()
                .filter_map(|(marker, meaning)| {
                    console.text[self.cursor..]
                        .find(marker.as_str())
                        .map(|at| (at, meaning))
                })
                .min_by_key(|(at, _)| *at);
            let failed_first = failure.filter(|(at, _)| found.is_none_or(|pos| *at < pos));
            if let Some((at, meaning)) = failed_first {
                let rest = &console.text[self.cursor + at..];
                // Report the whole line: wait for its end unless output stopped.
                if rest.contains('\n') || console.closed() || Instant::now() >= deadline {
                    let line = rest.lines().next().unwrap_or_default();
                    return Err(format!("{meaning} before printing {needle:?}: {line}"));
                }
            } else if let Some(pos) = found {
                let end = self.cursor + pos + needle.len();
                self.cursor = end;
                let at = console
                    .line_times
                    .iter()
                    .find(|(offset, _)| *offset >= end)
                    .map(|(_, t)| *t)
                    .unwrap_or_else(|| self.started.elapsed());
                return Ok(at);
            }
            if console.closed() {
                drop(console);
                let status = self.wait_exit(Duration::from_secs(5)).ok();
                return Err(format!("QEMU exited ({}) before printing {needle:?}", describe(status)));
            }
            let now = Instant::now();
            if now >= deadline {
                let last = console
                    .text
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or_default();
                let stuck = match &self.stuck_label {
                    Some(label) => format!(" ({label} seems stuck; its last line: {last:?})"),
                    None => String::new(),
                };
                return Err(format!("timed out after {timeout:?} waiting for {needle:?}{stuck}"));
            }
            console = ready.wait_timeout(console, deadline - now).unwrap().0;
        }
    }

    /// From now on, `marker` appearing (after the current position) before
    /// what a wait waits for fails that wait at once with `meaning`.
    pub fn fail_on(&mut self, marker: &str, meaning: &str) {
        self.failures.push((marker.into(), meaning.into()));
    }

    /// Names what runs (e.g. a nested guest) in the message of a wait that
    /// times out, with the console's last line.
    pub fn label_when_stuck(&mut self, label: &str) {
        self.stuck_label = Some(label.into());
    }

    /// Forgets the markers of [`Qemu::fail_on`].
    pub fn clear_failures(&mut self) {
        self.failures.clear();
    }

    /// Whether anything but blank lines arrives after byte `offset` of the
    /// console within `timeout` (or QEMU ends); does not move the cursor.
    pub fn output_after(&self, offset: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let (lock, ready) = &*self.console;
        let mut console = lock.lock().unwrap();
        loop {
            if console.text.get(offset..).is_some_and(|rest| !rest.trim().is_empty()) || console.closed() {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            console = ready.wait_timeout(console, deadline - now).unwrap().0;
        }
    }

    /// Where the next wait starts searching (a byte offset into [`Qemu::log`]).
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Fails if `needle` appears anywhere in the console so far.
    pub fn assert_absent(&self, needle: &str) -> Result<(), String> {
        let console = self.console.0.lock().unwrap();
        match console.text.find(needle) {
            Some(_) => Err(format!("console unexpectedly shows {needle:?}")),
            None => Ok(()),
        }
    }

    /// Types on the serial console.
    pub fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        let stdin = self.stdin.as_mut().ok_or("QEMU's stdin is closed")?;
        stdin
            .write_all(bytes)
            .and_then(|_| stdin.flush())
            .map_err(|e| format!("cannot type into QEMU: {e}"))
    }

    /// Waits for QEMU to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                return Err(format!("QEMU still running after {timeout:?}"));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The console so far, each line prefixed with when it arrived (seconds
    /// since QEMU started), for finding where time goes.
    pub fn timed_log(&self) -> String {
        let console = self.console.0.lock().unwrap();
        let mut out = String::new();
        let mut start = 0;
        for (end, at) in &console.line_times {
            let line = console.text.get(start..*end).unwrap_or_default();
            out.push_str(&format!("[{:8.3}] {line}\n", at.as_secs_f64()));
            start = end + 1;
        }
        out.push_str(console.text.get(start..).unwrap_or_default());
        out
    }

    /// Everything the console showed so far.
    pub fn log(&self) -> String {
        self.console.0.lock().unwrap().text.clone()
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(socket) = &self.qmp_socket {
            let _ = std::fs::remove_file(socket);
        }
    }
}

fn describe(status: Option<ExitStatus>) -> String {
    match status.and_then(|s| s.code()) {
        Some(3) => "exit status 3: the firmware reported a panic or exception".into(),
        Some(code) => format!("exit status {code}"),
        None => "killed or still running".into(),
    }
}

fn capture(mut stream: Box<dyn Read + Send>, console: Arc<(Mutex<Console>, Condvar)>, started: Instant) {
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).unwrap_or(0);
        let (lock, ready) = &*console;
        let mut c = lock.lock().unwrap();
        if n == 0 {
            c.streams_closed += 1;
            ready.notify_all();
            return;
        }
        let chunk = String::from_utf8_lossy(&buf[..n]).replace('\r', "");
        let base = c.text.len();
        c.text.push_str(&chunk);
        let at = started.elapsed();
        for (i, _) in chunk.match_indices('\n') {
            c.line_times.push((base + i, at));
        }
        ready.notify_all();
    }
}
