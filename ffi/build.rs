//! Gives the shared library a SONAME carrying the ABI version, so programs
//! linked against `libsocketio.so` keep loading `libsocketio.so.1` after an
//! upgrade that keeps the ABI, and refuse one that breaks it.

/// Must match `SIO_ABI_VERSION` (checked by the header test).
const ABI_VERSION: u32 = 1;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" || os == "android" || os.ends_with("bsd") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libsocketio.so.{ABI_VERSION}");
    }
}
