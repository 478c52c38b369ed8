#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| comlink_fuzz_harness::tokenize(data));
