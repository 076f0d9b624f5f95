//! The boot manager (UEFI 2.10 §3.1, and the Boot Loader Specification), the
//! EFI side: it reads the boot variables and the volumes (`gather.rs`), asks
//! the planner ([`crate::boot_plan`]) what to try and in which order, shows
//! the menu (`menu_screen.rs`), and starts the candidates in turn (`start.rs`),
//! moving on when one fails and saying at the end what it tried.

mod gather;
mod linux_entry;
mod menu_screen;
mod offer;
mod start;

pub use crate::boot_plan::REMOVABLE_MEDIA_FILE;
pub use crate::status::status_name;

use crate::boot_loader_interface as bli;
use crate::boot_plan::{self, BootRun, Inputs, MenuDecision};
use crate::efi::Efi;
use crate::efi_print;
use uefi_raw::table::system::SystemTable;
use uefi_raw::{guid, Guid, Handle, Status};

/// EFI_GLOBAL_VARIABLE.
const GLOBAL: Guid = guid!("8be4df61-93ca-11d2-aa0d-00e098032b8c");
/// hypervisor-fw's vendor GUID for its own variables.
pub const HVFW_VENDOR: Guid = guid!("4856464d-7e57-4f57-8000-000000000001");
/// `LinuxBootProtocol` = "bzimage" makes Linux entries boot through the x86
/// boot protocol instead of the kernel's EFI stub (set from the VMM's command
/// line `hvfw.linux=bzimage`).
pub const LINUX_BOOT_PROTOCOL_VARIABLE: &str = "LinuxBootProtocol";
/// `BootLoaderSpec` = "off" leaves BLS entries to a boot loader on the disk
/// (set from the VMM's command line `hvfw.bls=off`).
pub const BLS_VARIABLE: &str = "BootLoaderSpec";
/// EFI_VARIABLE_BOOTSERVICE_ACCESS | EFI_VARIABLE_RUNTIME_ACCESS.
const BS_RT: u32 = 0x2 | 0x4;

/// The boot manager's entry point, started by the firmware like any image.
///
/// # Safety
/// `st` is the system table, as StartImage passes it.
pub unsafe extern "efiapi" fn efi_main(image: Handle, st: *mut SystemTable) -> Status {
    // SAFETY: the firmware starts us with a valid system table.
    let efi = unsafe { Efi::new(image, st) };
    // LoaderTimeInitUSec: when the boot manager started.
    let init_usec = efi.timestamp_usec();
    let volumes = gather::volumes(&efi);
    let bls_enabled = boot_plan::bls_entries::enabled(efi.get_variable(BLS_VARIABLE, &HVFW_VENDOR).as_deref());
    let inputs = Inputs {
        load_options: gather::load_option_variables(&efi),
        // What the OS asked for through the Boot Loader Interface (bootctl
        // set-default, set-oneshot, set-timeout); left to a boot loader on
        // the disk when the built-in BLS loader is off. Reading deletes the
        // one-shot requests.
        requests: if bls_enabled {
            bli::requests(&efi)
        } else {
            bli::Requests::default()
        },
        volumes: volumes.iter().map(|v| gather::volume_facts(v, bls_enabled)).collect(),
    };
    let probe = gather::EfiProbe {
        efi: &efi,
        volumes: &volumes,
    };
    let mut plan = boot_plan::plan(&inputs, &probe);
    if plan.consume_boot_next {
        // BootNext is used once (§3.1.2), whatever becomes of it.
        let _ = efi.set_variable("BootNext", &GLOBAL, 0, &[]);
    }
    for note in &plan.notes {
        efi_print!(efi, "Boot: {note}\n");
    }
    let entry_ids = plan.bls_entry_ids();
    if !entry_ids.is_empty() {
        bli::publish(&efi, &entry_ids, &efi.firmware_info(), init_usec);
    }
    if let Some(nothing) = plan.nothing_to_boot() {
        efi_print!(efi, "{nothing}");
        return Status::NOT_FOUND;
    }

    let has_bls = plan.has_bls();
    let bls_number = offer::offer_options(&efi, &mut plan.candidates, has_bls);
    let key_waiting = efi.read_key().is_some();
    let choice = match boot_plan::menu_decision(inputs.requests.timeout, plan.loader_conf.as_ref(), key_waiting) {
        MenuDecision::BootAtOnce => None,
        MenuDecision::Show { countdown, editor } => {
            Some(menu_screen::run_menu(&efi, &plan.candidates, countdown, editor))
        }
    };

    let mut run = BootRun::new(&plan, choice);
    while let Some(attempt) = run.next_attempt() {
        let candidate = &plan.candidates[attempt.index];
        efi_print!(efi, "Boot: starting {}\n", candidate.title);
        let outcome = start::boot(&efi, &volumes, candidate, &attempt, bls_number);
        efi_print!(efi, "Boot: {} {outcome}\n", candidate.title);
        run.record(&attempt, outcome);
    }
    efi_print!(efi, "{}", run.summary());
    Status::NOT_FOUND
}
