//! The two variadic boot services, InstallMultipleProtocolInterfaces and
//! UninstallMultipleProtocolInterfaces (UEFI 2.10 §7.3), which Rust cannot
//! define as variadic `efiapi` functions. Each architecture writes only the
//! assembly that gathers its register and stack arguments into one array; this
//! macro gives both services the same signature, documentation and target.

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
