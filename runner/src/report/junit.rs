//! A run as JUnit XML: one test suite per step, one test case per
//! threshold (failed when crossed), one for the step's checks (failed when
//! any check failed) and one for the step itself (failed unless it
//! completed), so a CI server shows what broke.

use std::fmt::Write;

use super::escape;
use crate::model::{RunRecord, StepState};

/// One test case: name, and the failure message if it failed.
type Case = (String, Option<String>);

/// The JUnit XML of `record`.
pub fn junit_xml(record: &RunRecord) -> String {
    let mut suites = String::new();
    let (mut tests, mut failures) = (0, 0);
    for step in &record.steps {
        let mut cases: Vec<Case> = vec![(
            "step completed".to_owned(),
            (step.state != StepState::Completed).then(|| {
                format!(
                    "{:?}: {}",
                    step.state,
                    step.reason.as_deref().unwrap_or("no reason recorded")
                )
            }),
        )];
        if let Some(summary) = &step.summary {
            for t in &summary.thresholds {
                cases.push((
                    format!("threshold {} {}", t.metric, t.expression),
                    (!t.passed).then(|| format!("{} crossed {}", t.metric, t.expression)),
                ));
            }
            if let (Some(passed), Some(failed)) = (summary.checks_passed, summary.checks_failed) {
                cases.push((
                    "checks".to_owned(),
                    (failed > 0).then(|| {
                        format!(
                            "{failed} of {} checks failed",
                            passed.saturating_add(failed)
                        )
                    }),
                ));
            }
        }
        let failed = cases.iter().filter(|(_, f)| f.is_some()).count();
        tests += cases.len();
        failures += failed;
        let class = format!("{:02}-{}", step.step, step.script);
        let _ = writeln!(
            suites,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\">",
            escape(&class),
            cases.len()
        );
        for (name, failure) in cases {
            let _ = write!(
                suites,
                "    <testcase classname=\"{}\" name=\"{}\"",
                escape(&class),
                escape(&name)
            );
            match failure {
                None => suites.push_str("/>\n"),
                Some(message) => {
                    let _ = writeln!(
                        suites,
                        "><failure message=\"{}\"/></testcase>",
                        escape(&message)
                    );
                }
            }
        }
        suites.push_str("  </testsuite>\n");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"k6 run {}\" \
         tests=\"{tests}\" failures=\"{failures}\">\n{suites}</testsuites>\n",
        escape(&record.id)
    )
}
