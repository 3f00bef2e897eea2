Feature: The Docker host is found wherever the developer keeps it
  Real Kafka runs in Docker. Laptops keep Docker in different places (Docker
  Desktop, Colima, rootless Docker, Podman); the suite finds it, and when there
  is none, says what it tried and how to fix it. A host the developer set
  (DOCKER_HOST, or docker.host in ~/.testcontainers.properties) is used alone,
  as Docker's CLI and testcontainers do: it answers, or the suite fails naming
  it, and never quietly tests against another engine.

  Scenario: A Colima socket is found through DOCKER_HOST
    Given a laptop where Colima answers on "~/.colima/default/docker.sock"
    And DOCKER_HOST points at "~/.colima/default/docker.sock"
    When the suite looks for a Docker host
    Then it uses "~/.colima/default/docker.sock", found through "DOCKER_HOST"

  Scenario: A DOCKER_HOST that does not answer is not replaced by another engine
    Given a laptop where Colima answers on "~/.colima/default/docker.sock"
    And DOCKER_HOST points at "/tmp/none.sock"
    When the suite looks for a Docker host
    Then it finds none
    And the error names "DOCKER_HOST" as the only place tried, because it set the host explicitly

  Scenario: docker.host in ~/.testcontainers.properties is used alone
    Given a laptop where Colima answers on "~/.colima/default/docker.sock"
    And a laptop where a stopped Docker left "/var/run/docker.sock"
    And ~/.testcontainers.properties sets docker.host to "/var/run/docker.sock"
    When the suite looks for a Docker host
    Then it finds none
    And the error names "~/.testcontainers.properties docker.host" as the only place tried, because it set the host explicitly

  Scenario: A Colima socket is found by looking in the usual places
    Given a laptop where Colima answers on "~/.colima/default/docker.sock"
    When the suite looks for a Docker host
    Then it uses "~/.colima/default/docker.sock", found through "Colima socket"

  Scenario: A stopped Docker is skipped with its reason
    Given a laptop where a stopped Docker left "/var/run/docker.sock"
    And a laptop where Colima answers on "~/.colima/default/docker.sock"
    When the suite looks for a Docker host
    Then it uses "~/.colima/default/docker.sock", found through "Colima socket"
    And "/var/run/docker.sock" was skipped because it "does not answer"

  Scenario: With no Docker at all the error lists what was tried
    Given a laptop with no Docker at all
    When the suite looks for a Docker host
    Then it finds none
    And the error lists all 7 usual sockets and DOCKER_HOST
    And the error explains how to fix it
