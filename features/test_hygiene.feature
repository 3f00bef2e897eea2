Feature: No test is switched off
  The third bug: half of the Kafka tests were marked "ignore" and never ran.
  The crate's sources are read as Rust code (not searched as text), and a
  conformance run treats a step that did not run as a failure.

  Scenario: No test in the crate is marked ignored
    When the crate's Rust sources are parsed
    Then no test is marked ignored
    And at least 50 tests are found

  Scenario: A run with a step that cannot run fails
    When a scenario with an undefined step is run the way the suite runs
    Then that run fails
