//! The policy and the JWKS changed under a running service, by a plain
//! write and as the kubelet updates a ConfigMap volume.

use std::path::PathBuf;

use super::*;

#[tokio::test]
async fn a_changed_policy_file_is_swapped_in_and_an_invalid_one_is_ignored() {
    let secured = Secured::start(POLICY).await;
    let billing = As::cert(secured.pki.client(&["spiffe://corp.test/billing"], None));
    assert_eq!(
        code(secured.stop_running(&billing, DEMO_POOL).await),
        Code::PermissionDenied
    );

    let widened = POLICY.replace(
        r#""us-east-1_Billing*""#,
        r#""us-east-1_Billing*", "us-east-1_Import*""#,
    );
    secured.files.write("policy.json", &widened);
    wait_for_code(&secured, &billing, DEMO_POOL, Code::Ok).await;

    secured.files.write(
        "policy.json",
        r#"{"name": "broken", "allow_rules": [{"name": "x", "sauce": {}}]}"#,
    );
    wait_for(|| {
        LOGS.text()
            .contains("rejected the new authorization policy")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        code(secured.stop_running(&billing, DEMO_POOL).await),
        Code::Ok,
        "the old policy stays in force"
    );
}

#[tokio::test]
async fn a_reload_during_calls_in_flight_lets_them_finish_under_the_old_policy() {
    let secured = Secured::start(POLICY).await;
    let billing = As::cert(secured.pki.client(&["spiffe://corp.test/billing"], None));
    secured
        .app
        .inject(Fault::Delay(Duration::from_millis(600)), 1);
    let job = secured.app.job_in(BILLING_POOL, JobStatus::InProgress);
    let channel = secured.channel(&billing).await;
    let in_flight = tokio::spawn(async move {
        ImportJobServiceClient::new(channel)
            .stop_user_import_job(request(BILLING_POOL, &job.job_id))
            .await
    });
    wait_for(|| secured.app.emulator.calls().len() == 1).await;

    secured
        .files
        .write("policy.json", r#"{"name": "closed", "allow_rules": []}"#);
    wait_for_code(&secured, &billing, BILLING_POOL, Code::PermissionDenied).await;

    in_flight
        .await
        .unwrap()
        .expect("the call allowed before the reload completes");
}

#[tokio::test]
async fn a_changed_jwks_is_swapped_in() {
    let secured = Secured::start(POLICY).await;
    let rotated = Signer::new("rsa-2", Algorithm::RS256);
    let caller = As::token(rotated.sign(&claims("billing-batch")));
    assert_eq!(
        code(secured.stop_running(&caller, BILLING_POOL).await),
        Code::Unauthenticated
    );
    secured
        .files
        .write("jwks.json", &jwks(&[&secured.rsa, &rotated]));
    wait_for_code(&secured, &caller, BILLING_POOL, Code::Ok).await;
}

/// The policy mounted from a ConfigMap, updated as the kubelet updates the
/// volume: `policy.json` is a link that never changes, and each update
/// swaps the `..data` link under it to a new directory.
#[tokio::test]
async fn a_policy_in_a_configmap_volume_is_swapped_in_when_the_kubelet_updates_it() {
    let volume = ConfigMapVolume::new(&[("policy.json", POLICY)]);
    let secured = Secured::start_reading(Files::new(), &volume.path("policy.json"), &[]).await;
    let billing = As::cert(secured.pki.client(&["spiffe://corp.test/billing"], None));
    assert_eq!(
        code(secured.stop_running(&billing, DEMO_POOL).await),
        Code::PermissionDenied
    );
    let link = std::fs::read_link(volume.path("policy.json")).unwrap();
    assert_eq!(link, Path::new("..data/policy.json"));

    let widened = POLICY.replace(
        r#""us-east-1_Billing*""#,
        r#""us-east-1_Billing*", "us-east-1_Import*""#,
    );
    let first = volume.current_version().unwrap();
    volume.update(&[("policy.json", &widened)]);
    assert!(!first.exists(), "the replaced version is gone");
    wait_for_code(&secured, &billing, DEMO_POOL, Code::Ok).await;

    // Again, now that the first directory no longer exists: the service
    // follows the links afresh on each check.
    volume.update(&[("policy.json", POLICY)]);
    wait_for_code(&secured, &billing, DEMO_POOL, Code::PermissionDenied).await;
    assert_eq!(
        std::fs::read_link(volume.path("policy.json")).unwrap(),
        link,
        "the file's own link never changed"
    );
}

/// A ConfigMap volume, laid out and updated as the kubelet does it (its
/// AtomicWriter): each version of the files in a directory of its own,
/// `..<UTC time>.<digits>`; the link `..data` to the current one; and each
/// file a link through it (`policy.json -> ..data/policy.json`). An update
/// writes the new version's directory, points a new link `..data_tmp` at it,
/// renames that link over `..data` (the one atomic step), and then removes
/// the old version's directory.
struct ConfigMapVolume {
    dir: tempfile::TempDir,
}

impl ConfigMapVolume {
    fn new(files: &[(&str, &str)]) -> Self {
        let volume = Self {
            dir: tempfile::tempdir().expect("a temporary directory"),
        };
        volume.update(files);
        volume
    }

    /// The path a container reads `name` at.
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The directory of the version in force, as `..data` names it.
    fn current_version(&self) -> Option<PathBuf> {
        std::fs::read_link(self.dir.path().join("..data"))
            .ok()
            .map(|version| self.dir.path().join(version))
    }

    fn update(&self, files: &[(&str, &str)]) {
        let root = self.dir.path();
        let old = self.current_version();
        let version = loop {
            // 2026-11-27T22:34:00.123456789Z -> ..2026_11_27_22_34_00.123456789
            let now = humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string();
            let name = format!(
                "..{}",
                now.trim_end_matches('Z').replace(['-', 'T', ':'], "_")
            );
            if !root.join(&name).exists() {
                break name;
            }
        };
        std::fs::create_dir(root.join(&version)).unwrap();
        for (name, content) in files {
            std::fs::write(root.join(&version).join(name), content).unwrap();
        }
        std::os::unix::fs::symlink(&version, root.join("..data_tmp")).unwrap();
        std::fs::rename(root.join("..data_tmp"), root.join("..data")).unwrap();
        for (name, _) in files {
            let visible = root.join(name);
            if visible.symlink_metadata().is_err() {
                std::os::unix::fs::symlink(Path::new("..data").join(name), visible).unwrap();
            }
        }
        if let Some(old) = old {
            std::fs::remove_dir_all(old).unwrap();
        }
    }
}
