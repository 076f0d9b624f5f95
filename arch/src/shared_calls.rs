//! What the architectures' `efi_calls` modules share, as macros they invoke:
//! the safe-to-call wrappers around their image entry and exit assembly, and
//! the two variadic boot services, InstallMultipleProtocolInterfaces and
//! UninstallMultipleProtocolInterfaces (UEFI 2.10 §7.3), which Rust cannot
//! define as variadic `efiapi` functions. Each architecture writes only its
//! assembly; the signatures, documentation and targets are here, once.

/// Defines `enter_image` and `exit_image` (the `Platform` hooks LoadImage's
/// StartImage and Exit use), and under them the naked functions `enter` and
/// `leave` whose bodies are the given assembly, in the given ABI:
/// `enter(entry, handle, system_table, context)` saves the firmware's
/// callee-saved registers in `context` and calls `entry(handle,
/// system_table)` in the EFI convention, returning its status;
/// `leave(context, status)` restores them and returns `status` from `enter`.
/// The `enter` block may end with operands (`leave = sym leave`).
macro_rules! image_calls {
    (
        abi: $abi:literal,
        enter: { $($enter:tt)* },
        leave: { $($leave:tt)* } $(,)?
    ) => {
        /// Saves what the callee may not change in `context`, then calls
        /// `entry(handle, system_table)`. Returns the entry point's status, or
        /// the status `leave` passes when the image calls Exit.
        #[unsafe(naked)]
        unsafe extern $abi fn enter(
            entry: u64,
            handle: r_efi::efi::Handle,
            system_table: *mut r_efi::efi::SystemTable,
            context: *mut JumpContext,
        ) -> usize {
            core::arch::naked_asm!($($enter)*)
        }

        /// Restores what `enter` saved and returns from it with `status`.
        #[unsafe(naked)]
        unsafe extern $abi fn leave(context: *mut JumpContext, status: usize) -> ! {
            core::arch::naked_asm!($($leave)*)
        }

        /// `Platform::enter_image`: runs the image's entry point until it
        /// returns or calls Exit, and gives its status.
        ///
        /// # Safety
        /// `entry` is the entry point of a loaded image; `context` stays valid
        /// until this returns.
        pub unsafe fn enter_image(
            entry: u64,
            handle: r_efi::efi::Handle,
            system_table: *mut r_efi::efi::SystemTable,
            context: *mut JumpContext,
        ) -> r_efi::efi::Status {
            // SAFETY: the caller's contract.
            r_efi::efi::Status::from_usize(unsafe { enter(entry, handle, system_table, context) })
        }

        /// `Platform::exit_image`: returns from the `enter_image` that filled
        /// `context`, with `status`.
        ///
        /// # Safety
        /// `context` was filled by an `enter_image` call that has not returned yet.
        pub unsafe fn exit_image(context: *mut JumpContext, status: r_efi::efi::Status) -> ! {
            // SAFETY: the caller's contract.
            unsafe { leave(context, status.as_usize()) }
        }
    };
}

/// Defines `install_multiple_protocol_interfaces` and
/// `uninstall_multiple_protocol_interfaces` as naked functions whose body is
/// the given assembly. The assembly must make the handle and every variadic
/// argument one array of `usize` in memory, call `{target}` with its address
/// as the only argument, and return `{target}`'s status.
macro_rules! variadic_services {
    ($($asm:literal),+ $(,)?) => {
        /// InstallMultipleProtocolInterfaces: the handle and the GUID/interface
        /// pairs become one array for
        /// [`fw_core::efi::protocol::install_multiple_from_args`].
        ///
        /// # Safety
        /// Called by EFI applications through the boot services table, with a
        /// handle pointer and NULL-terminated GUID/interface pairs.
        #[unsafe(naked)]
        pub unsafe extern "efiapi" fn install_multiple_protocol_interfaces(
            _handle: *mut r_efi::efi::Handle,
            _first: *mut core::ffi::c_void,
            _second: *mut core::ffi::c_void,
        ) -> r_efi::efi::Status {
            core::arch::naked_asm!(
                $($asm),+,
                target = sym fw_core::efi::protocol::install_multiple_from_args,
            )
        }

        /// UninstallMultipleProtocolInterfaces, like the above, for
        /// [`fw_core::efi::protocol::uninstall_multiple_from_args`].
        ///
        /// # Safety
        /// As for [`install_multiple_protocol_interfaces`]: a handle and
        /// NULL-terminated GUID/interface pairs.
        #[unsafe(naked)]
        pub unsafe extern "efiapi" fn uninstall_multiple_protocol_interfaces(
            _handle: r_efi::efi::Handle,
            _first: *mut core::ffi::c_void,
            _second: *mut core::ffi::c_void,
        ) -> r_efi::efi::Status {
            core::arch::naked_asm!(
                $($asm),+,
                target = sym fw_core::efi::protocol::uninstall_multiple_from_args,
            )
        }
    };
}
