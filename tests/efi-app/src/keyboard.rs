//! Reads what the test harness types (UEFI 2.10 §12.2): through ConIn's
//! EFI_SIMPLE_TEXT_INPUT_EX_PROTOCOL, waiting with CheckEvent on WaitForKeyEx
//! as a menu would, one `HVFW-KEY:` line per key with everything KeyData
//! holds, until Enter. Then SetState turns Num Lock on and one more key is
//! read (the keypad's 8 must then type '8'). Every wait is bounded.

use crate::app::Console;
use core::ffi::c_void;
use core::fmt::Write;
use uefi_raw::protocol::console::{KeyData, KeyToggleState, SimpleTextInputExProtocol};
use uefi_raw::table::boot::BootServices;
use uefi_raw::table::system::SystemTable;
use uefi_raw::{Boolean, Status};

/// Keys read at most before giving up on Enter.
const MAX_KEYS: usize = 32;
/// How long the harness has for each key, in milliseconds.
const KEY_TIMEOUT_MS: usize = 60_000;

/// The next key, waiting on WaitForKeyEx with CheckEvent and 1 ms stalls.
///
/// # Safety
/// `ex` is ConIn's protocol; boot services run.
unsafe fn next_key(bs: &BootServices, ex: *mut SimpleTextInputExProtocol) -> Result<KeyData, &'static str> {
    for _ in 0..KEY_TIMEOUT_MS {
        // SAFETY: the caller's contract; the event is the protocol's.
        if unsafe { (bs.check_event)((*ex).wait_for_key_ex) } == Status::SUCCESS {
            let mut key = KeyData::default();
            // SAFETY: as above; `key` is ours to fill.
            let status = unsafe { ((*ex).read_key_stroke_ex)(ex, &mut key) };
            return match status {
                Status::SUCCESS => Ok(key),
                _ => Err("WaitForKeyEx was signalled but ReadKeyStrokeEx had no key"),
            };
        }
        // SAFETY: boot services run.
        let _ = unsafe { (bs.stall)(1000) };
    }
    Err("no key arrived in time")
}

fn report(out: &mut Console, key: &KeyData) {
    let _ = writeln!(
        out,
        "HVFW-KEY: scan={:#06x} char={:#06x} shift={:#010x} toggle={:#04x}",
        key.key.scan_code,
        key.key.unicode_char,
        key.key_state.key_shift_state.bits(),
        key.key_state.key_toggle_state.bits()
    );
}

/// # Safety
/// The system table is valid and boot services run.
pub unsafe fn check(st: &SystemTable, out: &mut Console) -> Result<(), &'static str> {
    // SAFETY: the caller's contract.
    let bs = unsafe { &*st.boot_services };
    let mut ex: *mut c_void = core::ptr::null_mut();
    // SAFETY: ConsoleInHandle from the system table.
    let status = unsafe { (bs.handle_protocol)(st.stdin_handle, &SimpleTextInputExProtocol::GUID, &mut ex) };
    if status != Status::SUCCESS || ex.is_null() {
        return Err("ConsoleInHandle has no SimpleTextInputEx");
    }
    let ex = ex.cast::<SimpleTextInputExProtocol>();
    // SAFETY: the protocol just found.
    let _ = unsafe { ((*ex).reset)(ex, Boolean::FALSE) };
    let _ = writeln!(out, "HVFW-KEYS: ready");
    let mut enter = false;
    for _ in 0..MAX_KEYS {
        // SAFETY: as above.
        let key = unsafe { next_key(bs, ex) }?;
        report(out, &key);
        if key.key.unicode_char == 0x0d {
            enter = true;
            break;
        }
    }
    if !enter {
        return Err("no Enter among the keys");
    }
    let state = KeyToggleState::VALID | KeyToggleState::NUM_LOCK_ACTIVE;
    // SAFETY: as above.
    if unsafe { ((*ex).set_state)(ex, &state) } != Status::SUCCESS {
        return Err("SetState(Num Lock) failed");
    }
    let _ = writeln!(out, "HVFW-KEYS: num lock on");
    // SAFETY: as above.
    let key = unsafe { next_key(bs, ex) }?;
    report(out, &key);
    let _ = writeln!(out, "HVFW-KEYS: done");
    Ok(())
}
