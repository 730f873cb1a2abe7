//! Where the plugin binary itself lies, so that the ONNX Runtime library shipped with it is
//! found from there: never from the DAW's executable or working directory.

use std::path::PathBuf;

/// Directories to search for the native ONNX Runtime library: the plugin binary's folder
/// (a VST3 bundle's `Contents/<arch>/`, or beside a `.clap` file) and the folder above it.
/// Each is also searched with an `onnxruntime/` subfolder (see
/// [`crate::model::runtime::native_library_candidates`]).
pub fn library_dirs() -> Vec<PathBuf> {
    let Some(binary) = plugin_binary() else { return Vec::new() };
    let binary = binary.canonicalize().unwrap_or(binary);
    binary.ancestors().skip(1).take(2).map(PathBuf::from).collect()
}

/// The path of the shared library this code is in.
#[cfg(unix)]
pub fn plugin_binary() -> Option<PathBuf> {
    use std::ffi::CStr;
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: `dladdr` only reads the address and fills `info`; `dli_fname` is a
    // NUL-terminated string owned by the loader, copied out at once.
    unsafe {
        let mut info: libc::Dl_info = std::mem::zeroed();
        if libc::dladdr(plugin_binary as *const libc::c_void, &mut info) == 0
            || info.dli_fname.is_null()
        {
            return None;
        }
        let name = CStr::from_ptr(info.dli_fname);
        Some(PathBuf::from(std::ffi::OsStr::from_bytes(name.to_bytes())))
    }
}

/// The path of the DLL this code is in.
#[cfg(windows)]
pub fn plugin_binary() -> Option<PathBuf> {
    use std::os::windows::ffi::OsStringExt;
    const GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS: u32 = 0x4;
    const GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT: u32 = 0x2;
    #[link(name = "kernel32")]
    extern "system" {
        fn GetModuleHandleExW(
            flags: u32,
            name: *const u16,
            module: *mut *mut std::ffi::c_void,
        ) -> i32;
        fn GetModuleFileNameW(module: *mut std::ffi::c_void, name: *mut u16, size: u32) -> u32;
    }
    // SAFETY: the address is a function of this module; the buffer outlives both calls.
    unsafe {
        let mut module = std::ptr::null_mut();
        let flags =
            GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT;
        if GetModuleHandleExW(flags, plugin_binary as *const u16, &mut module) == 0 {
            return None;
        }
        let mut buffer = vec![0u16; 32_768];
        let len = GetModuleFileNameW(module, buffer.as_mut_ptr(), buffer.len() as u32) as usize;
        (len > 0).then(|| PathBuf::from(std::ffi::OsString::from_wide(&buffer[..len])))
    }
}

#[cfg(not(any(unix, windows)))]
pub fn plugin_binary() -> Option<PathBuf> {
    None
}
