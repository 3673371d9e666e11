//! A corpus of malformed and hostile requests: each gets a clean 4xx with a
//! message, the stored config never changes, and nothing is ever spawned.

use serde_json::{Value, json};

use crate::runner::{Runner, World, config};

/// The runner's body limit.
const MAX_BODY: usize = 64 * 1024;

/// Sends only the headers of an oversized request, as a client about to
/// upload a huge body would, and reads the answer: the runner must refuse
/// from the announced length without reading the body.
async fn announce_only(addr: std::net::SocketAddr, case: &Case) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{} /api/k6{} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        case.method,
        case.path,
        case.body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await;
    let answer = String::from_utf8_lossy(&answer);
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// One hostile request and the status it must get.
struct Case {
    what: String,
    method: reqwest::Method,
    path: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    /// For 422s: the field the error must name.
    field: Option<String>,
}

fn put(
    what: impl Into<String>,
    body: impl Into<Vec<u8>>,
    status: u16,
    field: Option<&str>,
) -> Case {
    Case {
        what: what.into(),
        method: reqwest::Method::PUT,
        path: "/config".into(),
        content_type: Some("application/json"),
        body: body.into(),
        status,
        field: field.map(str::to_owned),
    }
}

fn with_field(field: &str, value: Value) -> Vec<u8> {
    let mut body = config(2, "30s", 60, &["pass.js"], 0);
    body[field] = value;
    body.to_string().into_bytes()
}

fn corpus(world: &World) -> Vec<Case> {
    let mut cases = Vec::new();
    // Wrong types, signs, sizes and fractions for every field.
    let numeric = [
        "globalUserCount",
        "rampUpDuration",
        "maxDuration",
        "intervalBetweenTests",
    ];
    let bad_numbers: [Value; 11] = [
        json!("5"),
        json!(true),
        json!(null),
        json!([5]),
        json!({"value": 5}),
        json!(5.5),
        json!(-1),
        json!(-0.5),
        json!(1e300),
        json!(18446744073709551616.0),
        json!(4294967296u64),
    ];
    for field in numeric {
        for value in &bad_numbers {
            cases.push(put(
                format!("{field} = {value}"),
                with_field(field, value.clone()),
                422,
                Some(field),
            ));
        }
    }
    let bad_durations = [
        json!(30),
        json!(null),
        json!(["30s"]),
        json!(""),
        json!("30"),
        json!("30x"),
        json!("h"),
        json!("1h1h"),
        json!("30m1h"),
        json!(" 5m"),
        json!("5m "),
        json!("-5m"),
        json!("5M"),
        json!("1d"),
        json!("0s"),
        json!("25h"),
        json!("99999999999h"),
        json!("5m\n"),
        json!("５m"),
        json!("PT5M"),
        json!("1.5h"),
        json!("5m;rm -rf /"),
    ];
    for value in bad_durations {
        cases.push(put(
            format!("testDuration = {value}"),
            with_field("testDuration", value),
            422,
            Some("testDuration"),
        ));
    }
    // Script names: traversal in every form, absolute paths, links out,
    // shell metacharacters, unicode tricks, bad suffixes.
    std::fs::write(world.dir.path().join("outside.js"), crate::runner::PASS).unwrap();
    std::os::unix::fs::symlink(
        world.dir.path().join("outside.js"),
        world.scripts.join("escape.js"),
    )
    .unwrap();
    std::fs::write(world.scripts.join("notes.txt"), "not a script").unwrap();
    let long_name = format!("{}.js", "a".repeat(300));
    let names = [
        "../outside.js",
        "..",
        "../../../../etc/passwd",
        "a/../../outside.js",
        "legacy/../../outside.js",
        "legacy/../pass.js",
        "./pass.js",
        "/etc/passwd",
        "/tmp/x.js",
        "\\..\\outside.js",
        "..\\outside.js",
        "%2e%2e/outside.js",
        "..%2fx.js",
        "~/pass.js",
        "pass.js/",
        "a//b.js",
        ".hidden.js",
        "-rf.js",
        "--help.js",
        "pass.js\u{0}",
        "pass.js\n",
        "pass\r.js",
        "pass .js",
        " pass.js",
        "pass.js ",
        "pass;.js",
        "pass|x.js",
        "$(id).js",
        "`id`.js",
        "pass&.js",
        "pass>x.js",
        "pass<x.js",
        "pass*.js",
        "pass?.js",
        "pass'.js",
        "pass\".js",
        "pass{a,b}.js",
        "pass\\x.js",
        "ｐass.js",
        "pass\u{202e}sj.js",
        "pаss.js",
        "pass.js\u{200b}",
        "pass\u{ff0e}js",
        "escape.js",
        "notes.txt",
        "pass.JS",
        "pass.js.bak",
        "pass",
        "",
        long_name.as_str(),
        "missing.js",
        "legacy",
        "pass.exe",
    ];
    for name in names {
        cases.push(put(
            format!("enabledScripts = [{name:?}]"),
            with_field("enabledScripts", json!([name])),
            422,
            Some("enabledScripts[0]"),
        ));
    }
    let out_of_range = [
        ("globalUserCount", json!(0)),
        ("globalUserCount", json!(1001)),
        ("globalUserCount", json!(100_000)),
        ("maxDuration", json!(0)),
        ("maxDuration", json!(90_001)),
        ("intervalBetweenTests", json!(3601)),
        ("intervalBetweenTests", json!(999_999)),
        ("rampUpDuration", json!(86_400)),
    ];
    for (field, value) in out_of_range {
        cases.push(put(
            format!("{field} = {value}"),
            with_field(field, value),
            422,
            Some(field),
        ));
    }
    for element in [json!(null), json!(true), json!(1.5)] {
        cases.push(put(
            format!("enabledScripts = [{element}]"),
            with_field("enabledScripts", json!([element, "pass.js"])),
            422,
            Some("enabledScripts[0]"),
        ));
    }
    // Entries' own settings must not reach a command line or an
    // environment unchecked.
    for (name, entry, field) in [
        (
            "entry env setting PATH",
            json!({"script": "legacy/wrapper.sh", "env": {"PATH": "/tmp"}}),
            "enabledScripts[0].env.PATH",
        ),
        (
            "entry wrapper argument with a command",
            json!({"script": "legacy/wrapper.sh", "args": ["$(touch /tmp/owned)"]}),
            "enabledScripts[0].args[0]",
        ),
        (
            "entry users far out of range",
            json!({"script": "pass.js", "users": 1_000_000}),
            "enabledScripts[0].users",
        ),
    ] {
        cases.push(put(
            name,
            with_field("enabledScripts", json!([entry])),
            422,
            Some(field),
        ));
    }
    // An object is an entry; one without its script says so.
    cases.push(put(
        "enabledScripts = [{}]",
        with_field("enabledScripts", json!([{}, "pass.js"])),
        422,
        Some("enabledScripts[0].script"),
    ));
    let more_names = [
        "pass.js%00",
        "pass.js#",
        "pass.js!",
        "pass@x.js",
        "pass:x.js",
        "pass=x.js",
        "pass+x.js",
        "pass,x.js",
        "pass[1].js",
        "pass(1).js",
        "pass~.js",
        "pass^.js",
        "pass.js\t",
        "\u{feff}pass.js",
        "pass\u{7f}.js",
    ];
    for name in more_names {
        cases.push(put(
            format!("enabledScripts = [{name:?}]"),
            with_field("enabledScripts", json!([name])),
            422,
            Some("enabledScripts[0]"),
        ));
    }
    cases.push(put(
        "byte order mark",
        format!("\u{feff}{}", config(2, "30s", 60, &["pass.js"], 0)),
        422,
        Some(""),
    ));
    cases.push(put("UTF-16 body", b"{\0}\0".to_vec(), 422, Some("")));
    cases.push(put(
        "enabledScripts is a string",
        with_field("enabledScripts", json!("pass.js")),
        422,
        Some("enabledScripts"),
    ));
    cases.push(put(
        "enabledScripts holds a number",
        with_field("enabledScripts", json!([7])),
        422,
        Some("enabledScripts[0]"),
    ));
    cases.push(put(
        "enabledScripts nested",
        with_field("enabledScripts", json!([["pass.js"]])),
        422,
        Some("enabledScripts[0]"),
    ));
    let many: Vec<String> = (0..60).map(|i| format!("s{i}.js")).collect();
    cases.push(put(
        "60 scripts",
        with_field("enabledScripts", json!(many)),
        422,
        Some("enabledScripts"),
    ));
    // Structure: not JSON, not an object, unknown, missing and repeated fields.
    let valid = config(2, "30s", 60, &["pass.js"], 0);
    let shapes: [(&str, String, Option<&str>); 21] = [
        ("open brace", "{".into(), Some("")),
        ("close brace", "}".into(), Some("")),
        ("array", "[]".into(), Some("")),
        ("string", "\"config\"".into(), Some("")),
        ("number", "1".into(), Some("")),
        ("null", "null".into(), Some("")),
        (
            "trailing comma",
            "{\"globalUserCount\": 1,}".into(),
            Some(""),
        ),
        ("comment", "// x\n{}".into(), Some("")),
        ("NaN", "{\"globalUserCount\": NaN}".into(), Some("")),
        ("single quotes", "{'globalUserCount': 1}".into(), Some("")),
        (
            "deep nesting",
            format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)),
            Some(""),
        ),
        ("two documents", format!("{valid}{valid}"), Some("")),
        ("empty object", "{}".into(), Some("globalUserCount")),
        (
            "unknown field",
            {
                let mut v = valid.clone();
                v["colour"] = json!("red");
                v.to_string()
            },
            Some("colour"),
        ),
        (
            "__proto__",
            {
                let mut v = valid.clone();
                v["__proto__"] = json!({"admin": true});
                v.to_string()
            },
            Some("__proto__"),
        ),
        (
            "snake case",
            {
                let mut v = valid.clone();
                v["global_user_count"] = json!(2);
                v.to_string()
            },
            Some("global_user_count"),
        ),
        (
            "lower case",
            {
                let mut v = valid.clone();
                v["globalusercount"] = json!(2);
                v.to_string()
            },
            Some("globalusercount"),
        ),
        (
            "missing field",
            {
                let mut v = valid.clone();
                v.as_object_mut().unwrap().remove("maxDuration");
                v.to_string()
            },
            Some("maxDuration"),
        ),
        (
            "duplicate key",
            valid
                .to_string()
                .replacen('{', "{\"globalUserCount\": 999,", 1),
            Some("globalUserCount"),
        ),
        (
            "ramp-up not shorter than the test",
            {
                let mut v = valid.clone();
                v["rampUpDuration"] = json!(30);
                v.to_string()
            },
            Some("rampUpDuration"),
        ),
        (
            "limit below the test",
            {
                let mut v = valid.clone();
                v["maxDuration"] = json!(10);
                v.to_string()
            },
            Some("maxDuration"),
        ),
    ];
    for (what, body, field) in shapes {
        cases.push(put(what, body, 422, field));
    }
    // Transport: invalid UTF-8, content types, sizes.
    for bytes in [
        &b"\xff\xfe"[..],
        b"{\"globalUserCount\": \"\xc3\x28\"}",
        b"\xed\xa0\x80",
        b"{\"a\xf0\x28\x8c\x28\": 1}",
    ] {
        cases.push(put(
            format!("invalid UTF-8 {bytes:?}"),
            bytes.to_vec(),
            400,
            None,
        ));
    }
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/xml"),
        Some("multipart/form-data"),
        Some("application/jsonx"),
        Some("application/x-www-form-urlencoded"),
        Some("json"),
    ] {
        cases.push(Case {
            content_type,
            ..put(
                format!("content type {content_type:?}"),
                valid.to_string(),
                415,
                None,
            )
        });
    }
    cases.push(put("empty body without a length", Vec::new(), 411, None));
    for size in [64 * 1024 + 1, 1 << 20, 8 << 20] {
        cases.push(put(
            format!("{size} byte body"),
            vec![b' '; size],
            413,
            None,
        ));
    }
    // Other routes: wrong methods, bad queries, unknown and traversing paths.
    let route = |method: reqwest::Method, path: &str, status: u16| Case {
        what: format!("{method} {path}"),
        method,
        path: path.to_owned(),
        content_type: None,
        body: Vec::new(),
        status,
        field: None,
    };
    use reqwest::Method as M;
    for (method, path) in [
        (M::DELETE, "/config"),
        (M::PATCH, "/config"),
        (M::POST, "/config"),
        (M::GET, "/start"),
        (M::PUT, "/start"),
        (M::GET, "/stop"),
        (M::POST, "/status"),
        (M::DELETE, "/results"),
        (M::GET, "/config/reset"),
    ] {
        cases.push(route(method, path, 405));
    }
    for query in [
        "limit=abc",
        "since=-1",
        "level=evil",
        "level=info,root",
        "unknown=1",
        "limit=1e9",
        "since=99999999999999999999999",
        "run=a&run=b&limit=x",
    ] {
        cases.push(route(M::GET, &format!("/logs?{query}"), 400));
    }
    for path in ["/audit?limit=-5", "/audit?who=me"] {
        cases.push(route(M::GET, path, 400));
    }
    for path in [
        "/nope",
        "/config/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/scripts/../../../etc/passwd",
        "/results/..%2f..%2fconfig.json",
        "/start/now",
        "/config/reset/again",
    ] {
        cases.push(route(M::GET, path, 404));
    }
    cases
}

/// Every request of a corpus of well over 200 malformed or hostile ones
/// gets a clean 4xx with a JSON message (naming the field for invalid
/// configs); afterwards the stored config is byte for byte the same and no
/// run, hence no process, was ever created.
#[tokio::test]
async fn hostile_request_corpus_gets_clean_4xx_and_changes_nothing() {
    let world = World::new().await;
    let cases = corpus(&world);
    assert!(
        cases.len() >= 200,
        "the corpus has only {} cases",
        cases.len()
    );
    let runner = Runner::start(&world, &[]);
    runner
        .configure(&config(1, "2s", 30, &["pass.js"], 0))
        .await;
    let stored = std::fs::read(world.data.join("config.json")).unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();

    let mut failures = Vec::new();
    for case in &cases {
        // Paths with `..` are sent as written, not normalised by the client.
        let url = format!("http://{}/api/k6{}", runner.addr, case.path);
        let mut request = client
            .request(case.method.clone(), reqwest::Url::parse(&url).unwrap())
            .body(case.body.clone());
        if let Some(content_type) = case.content_type {
            request = request.header("content-type", content_type);
        }
        let (status, body) = if case.body.len() > MAX_BODY {
            announce_only(runner.addr, case).await
        } else {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                serde_json::from_str(&response.text().await.unwrap()).unwrap_or(Value::Null),
            )
        };
        let message = body["error"].as_str().unwrap_or_default();
        let named = case.field.as_ref().is_none_or(|field| {
            body["fields"].as_array().is_some_and(|fields| {
                fields.iter().any(|f| {
                    f["field"] == field.as_str()
                        && !f["message"].as_str().unwrap_or_default().is_empty()
                })
            })
        });
        if status != case.status || message.is_empty() || !named {
            failures.push(format!(
                "{}: got {status} {body}, wanted {} {:?}",
                case.what, case.status, case.field
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert_eq!(
        std::fs::read(world.data.join("config.json")).unwrap(),
        stored,
        "the stored config changed"
    );
    assert_eq!(runner.get("/results").await.0, 404, "a run was created");
    assert_eq!(
        std::fs::read_dir(world.data.join("runs")).unwrap().count(),
        0
    );
}
