//! The config parser: any text is either refused with errors or accepted;
//! an accepted config compiles into a forwarding plan (the checker reports
//! every problem the plan compiler would), and its canonical text, as
//! `xvs check --print` writes it, reads back as the same config.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switch_core::bridge::ForwardingPlan;
use xvs_config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(config) = Config::from_toml_str(text) else { return };
    if let Err(e) = ForwardingPlan::compile(&config.spec) {
        panic!("an accepted config does not compile: {e:?}\n--- config ---\n{text}");
    }
    let canonical = config.to_toml_string();
    match Config::from_toml_str(&canonical) {
        Ok(again) => assert!(again == config, "the canonical text reads back differently:\n{canonical}"),
        Err(e) => panic!("the canonical text is refused: {e}\n--- canonical ---\n{canonical}"),
    }
});
