// Cargo builds only: tells the linker where liblmalloc.a is (the CMake build
// folder of the target being compiled for).
fn main() {
    println!("cargo:rerun-if-env-changed=LMALLOC_LIB_DIR");
    match std::env::var("LMALLOC_LIB_DIR") {
        Ok(dir) => println!("cargo:rustc-link-search=native={}", dir),
        Err(_) => println!("cargo:warning=LMALLOC_LIB_DIR is not set: the linker must find liblmalloc.a itself"),
    }
}
