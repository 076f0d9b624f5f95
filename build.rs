//! Passes the architecture's linker script (and on aarch64 the flags that make
//! a position-independent raw Image) when the firmware is built for bare metal.
//! On the host the binary is an empty stub and needs none.

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let script = match target.as_str() {
        "x86_64-unknown-none" => Some("arch/src/x86_64/layout.ld"),
        "aarch64-unknown-none" => Some("arch/src/aarch64/layout.ld"),
        // A static ELF at 0x80200000, where OpenSBI's fw_dynamic and QEMU
        // `-kernel` expect the S-mode payload.
        "riscv64gc-unknown-none-elf" => Some("arch/src/riscv64/layout.ld"),
        _ => None,
    };
    if let Some(script) = script {
        println!("cargo:rerun-if-changed={script}");
        println!("cargo:rustc-link-arg-bins=-T{dir}/{script}");
    }
    if target == "aarch64-unknown-none" {
        // An arm64 Image is a flat binary that runs wherever the VMM loads it:
        // a static PIE (the entry code applies its relative relocations),
        // written by the linker straight as the raw image.
        for arg in ["--pie", "--no-dynamic-linker", "-z", "notext", "--oformat=binary"] {
            println!("cargo:rustc-link-arg-bins={arg}");
        }
    }
    println!("cargo:rustc-env=HVFW_TARGET={target}");
    println!("cargo:rerun-if-env-changed=HVFW_LOG");
}
