//! The Debian package (issue 19): `cargo deb` builds it from the release binary; its
//! contents, its control file and its maintainer scripts are checked, and its systemd units
//! pass `systemd-analyze verify` against the package's own files (unpacked into a root of
//! their own with the system's units beside them, so the units' programs and configuration
//! are the package's).

mod common;

use std::process::Command;

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e} (./dev test installs it)"));
    assert!(out.status.success(), "{program} {args:?}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn the_debian_package_installs_the_services_and_their_units_verify() {
    let root = common::root();
    assert!(root.join("target/release/chartscan").is_file(), "the release binary (cargo build --release) is what the package holds");
    let out_dir = tempfile::tempdir().unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(&cargo)
        .current_dir(&root)
        .args(["deb", "--no-build", "--fast", "--output"])
        .arg(out_dir.path())
        .output()
        .expect("cargo deb (./dev test installs cargo-deb)");
    assert!(built.status.success(), "cargo deb: {}", String::from_utf8_lossy(&built.stderr));
    let deb = std::fs::read_dir(out_dir.path()).unwrap().map(|e| e.unwrap().path()).find(|p| p.extension().is_some_and(|e| e == "deb")).expect("a .deb");
    let deb = deb.to_str().unwrap();
    // What it holds.
    let contents = run("dpkg-deb", &["--contents", deb]);
    for path in [
        "./usr/bin/chartscan",
        "./usr/share/chartscan/templates/opd.toml",
        "./etc/chartscan/chartscan.env",
        "./lib/systemd/system/chartscan-serve.service",
        "./lib/systemd/system/chartscan-worker.service",
        "./lib/systemd/system/chartscan-watch.service",
        "./usr/share/doc/chartscan/NOTICE.gazetteer",
    ] {
        assert!(contents.lines().any(|l| l.ends_with(path)), "{path} is not in the package:\n{contents}");
    }
    let control = run("dpkg-deb", &["--field", deb]);
    assert!(control.contains("Package: chartscan"), "{control}");
    let depends = control.lines().find(|l| l.starts_with("Depends:")).unwrap_or_default().to_string();
    for dep in ["tesseract-ocr-khm", "tesseract-ocr-eng", "adduser", "libtesseract5"] {
        assert!(depends.contains(dep), "Depends lacks {dep}: {depends}");
    }
    let conffiles = run("dpkg-deb", &["--info", deb, "conffiles"]);
    assert!(conffiles.contains("/etc/chartscan/chartscan.env"), "the configuration is a conffile: {conffiles}");
    let postinst = run("dpkg-deb", &["--info", deb, "postinst"]);
    assert!(postinst.contains("adduser --system") && postinst.contains("/var/lib/chartscan") && postinst.contains("daemon-reload"), "{postinst}");
    run("sh", &["-n", "-c", &postinst]);
    // The units, verified against the package's own files.
    let unpacked = tempfile::tempdir().unwrap();
    run("dpkg-deb", &["--extract", deb, unpacked.path().to_str().unwrap()]);
    // The system's own units (the targets ours are ordered after), beside the package's.
    let system_units = unpacked.path().join("lib/systemd/system");
    run("cp", &["-rn", "/lib/systemd/system/.", system_units.to_str().unwrap()]);
    let units: Vec<String> =
        ["serve", "worker", "watch"].iter().map(|u| unpacked.path().join(format!("lib/systemd/system/chartscan-{u}.service")).display().to_string()).collect();
    let mut args = vec![format!("--root={}", unpacked.path().display()), "verify".to_string()];
    args.extend(units.iter().cloned());
    let verify = Command::new("systemd-analyze").args(&args).output().expect("systemd-analyze (./dev test installs systemd)");
    let said = format!("{}{}", String::from_utf8_lossy(&verify.stdout), String::from_utf8_lossy(&verify.stderr));
    assert!(verify.status.success(), "systemd-analyze verify: {said}");
    let about_ours: Vec<&str> = said.lines().filter(|l| l.contains("chartscan")).collect();
    assert!(about_ours.is_empty(), "systemd-analyze has something to say about the units:\n{}", about_ours.join("\n"));
    for unit in &units {
        let text = std::fs::read_to_string(unit).unwrap();
        assert!(
            text.contains("User=chartscan") && text.contains("EnvironmentFile=/etc/chartscan/chartscan.env") && text.contains("ProtectSystem=strict"),
            "{unit}"
        );
    }
    // The configuration the units read names the database and the data directory.
    let env = std::fs::read_to_string(unpacked.path().join("etc/chartscan/chartscan.env")).unwrap();
    assert!(env.contains("CHARTSCAN_DB=sqlite:///var/lib/chartscan/chartscan.db") && env.contains("CHARTSCAN_DATA=/var/lib/chartscan/data"));
}
