@process
Feature: One pool manager per GPU node, run by Kubernetes
  poolmgr does not manage a cluster: Kubernetes runs one manager on every GPU node (a
  DaemonSet), and a scheduler above reads the managers through a headless Service. The
  manifests in deploy/kubernetes/ are a kustomize base with two overlays, cpu-dev and gpu.
  These scenarios render them with kustomize, as `kubectl apply -k` would, and check what
  Kubernetes and the manager will make of them.

  @OC-DEP-8010
  Scenario Outline: Every object of the <overlay> overlay validates against the Kubernetes schemas
    When the Kubernetes manifests of "<overlay>" are rendered
    Then every rendered object validates against the schemas of Kubernetes 1.30, unknown fields refused
    And the rendered objects are exactly
      | kind                | name              |
      | Namespace           | poolmgr           |
      | ServiceAccount      | poolmgr           |
      | ConfigMap           | poolmgr-config    |
      | ConfigMap           | poolmgr-dashboard |
      | Secret              | poolmgr-token     |
      | Service             | poolmgr           |
      | PodDisruptionBudget | poolmgr           |
      | DaemonSet           | poolmgr           |
      | ServiceMonitor      | poolmgr           |
      | PrometheusRule      | poolmgr           |
    And every namespaced object is in the namespace "poolmgr"

    Examples:
      | overlay |
      | cpu-dev |
      | gpu     |

  @OC-DEP-8010
  Scenario: A manifest with a field Kubernetes does not know is refused
    When the Kubernetes manifests of "gpu" are rendered
    And the DaemonSet's container gets the unknown field "readinesProbe"
    Then validation against the schemas of Kubernetes 1.30 refuses the DaemonSet at "spec.template.spec.containers.0"

  @OC-DEP-8011
  Scenario Outline: The probes of the <overlay> overlay use the control plane's own endpoints
    When the Kubernetes manifests of "<overlay>" are rendered
    Then the manager's container has these probes
      | probe     | method | path     | port |
      | startup   | GET    | /readyz  | http |
      | readiness | GET    | /readyz  | http |
      | liveness  | GET    | /healthz | http |
    And every probe path is a GET operation of the control plane's OpenAPI document that needs no token
    And the container port "http" is 8080, the port the config's manager listens on, on address "0.0.0.0"
    And the Service "poolmgr" is headless, publishes not-ready managers and forwards port 8080 to the port "http"

    Examples:
      | overlay |
      | cpu-dev |
      | gpu     |

  @OC-DEP-8012
  Scenario Outline: The <overlay> overlay gives preloads and drains the time the config allows
    When the Kubernetes manifests of "<overlay>" are rendered
    Then the config's longest preload timeout is <preload> s and the startup probe waits <startup> s for the manager
    And the config's longest drain deadline is <drain> s and its longest stop grace <grace> s
    And the pod's termination grace period is <termination> s, at least the drain deadline plus the stop grace plus 10 s
    And before the container stops, Kubernetes runs "poolmgr drain --token-file /var/run/secrets/poolmgr/token"

    Examples:
      | overlay | preload | startup | drain | grace | termination |
      | cpu-dev | 600     | 660     | 10    | 5     | 60          |
      | gpu     | 900     | 960     | 120   | 15    | 150         |

  @OC-DEP-8013
  Scenario Outline: The <overlay> overlay runs a valid poolmgr command on a valid config
    When the Kubernetes manifests of "<overlay>" are rendered
    Then the manager's container runs "poolmgr serve --config /etc/poolmgr/config.yaml --advertise-host $(POD_IP)"
    And the container's variable "POD_IP" is the pod's "status.podIP"
    And the config's engines listen on "0.0.0.0"
    And "/etc/poolmgr/config.yaml" in the container is the key "config.yaml" of the ConfigMap "poolmgr-config"
    And the config passes "poolmgr check-config --no-file-checks"
    And the config reads its token from "/var/run/secrets/poolmgr/token", the key "token" of the Secret "poolmgr-token"
    And the config writes its logs to "/var/log/poolmgr", a writable volume of the container

    Examples:
      | overlay |
      | cpu-dev |
      | gpu     |

  @OC-DEP-8014
  Scenario Outline: The manager runs without privileges in the <overlay> overlay
    When the Kubernetes manifests of "<overlay>" are rendered
    Then the pod runs as user 10001 and group 10001, never as root
    And the manager's container cannot gain privileges, has no capabilities and a read-only root filesystem
    And the pod gets no Kubernetes API token

    Examples:
      | overlay |
      | cpu-dev |
      | gpu     |

  @OC-DEP-8015
  Scenario: The gpu overlay runs one manager on every NVIDIA GPU node and nowhere else
    When the Kubernetes manifests of "gpu" are rendered
    Then the DaemonSet selects nodes labelled "nvidia.com/gpu.present" = "true"
    And the DaemonSet tolerates the taint "nvidia.com/gpu" with effect "NoSchedule"
    And the manager's container asks the NVIDIA device plugin for 1 "nvidia.com/gpu"
    And the manager's container runs the image "poolmgr:cuda"
    And the pool disruption budget lets at most 1 manager be evicted at a time

  @OC-DEP-8016
  Scenario: Prometheus scrapes every manager with the control plane's token
    When the Kubernetes manifests of "gpu" are rendered
    Then the ServiceMonitor scrapes "/metrics" on the port "http" of the Service "poolmgr"
    And the scrape sends the key "token" of the Secret "poolmgr-token" as its bearer token

  @OC-DEP-8017
  Scenario: The alert rules name metrics the manager exports, with labels and values it uses
    Given the manager is running with this config
      """
      pools:
        - {id: chat, engine: stub, model: "stub://chat", devices: [], cpu: true, slots: 1}
      """
    And the live pools "chat" are ready
    When the Kubernetes manifests of "gpu" are rendered
    Then the alert rules are exactly
      | alert                  | metric                 | matchers         | for | severity |
      | PoolmgrPoolNotReady    | pool_ready             |                  | 10m | warning  |
      | PoolmgrBreakerOpen     | breaker_state          | state="open"     | 1m  | critical |
      | PoolmgrRestartRate     | restarts_total         |                  |     | warning  |
      | PoolmgrPreloadFailures | preload_outcomes_total | result="failure" |     | warning  |
      | PoolmgrDriverResets    | driver_resets_total    |                 |     | critical |
    And every metric the alert rules name is a family of the live manager's /metrics scrape
    And every label the alert rules match on is a label of that family in the live scrape

  # `promtool check rules` and the rules' unit tests (`promtool test rules`, in
  # deploy/kubernetes/tests/alerts.test.yaml) run in tests/deploy/test_manifests.py: promtool
  # comes with Debian's prometheus package, which only the test command installs.

  @OC-DEP-8018
  Scenario: Engines on a wildcard address are reached at the host the manager advertises
    A scheduler in another pod sends work to the engine a lease names. Here 127.0.0.2 stands
    for the pod's address: it reaches this host, but not a socket bound to 127.0.0.1.
    Given the manager is running with this config
      """
      manager: {engine_host: 0.0.0.0, engine_advertise_host: 127.0.0.2}
      pools:
        - {id: chat, engine: stub, model: "stub://chat", devices: [], cpu: true, slots: 1}
      """
    And the live pools "chat" are ready
    When a client leases a slot of the live pool "chat"
    Then the lease answer names the engine at the host "127.0.0.2"
    And the engine the lease names answers "GET /health" with status 200

  @OC-DEP-8018
  Scenario: By default engines listen on loopback only, and the lease names loopback
    Given the manager is running with this config
      """
      pools:
        - {id: chat, engine: stub, model: "stub://chat", devices: [], cpu: true, slots: 1}
      """
    And the live pools "chat" are ready
    When a client leases a slot of the live pool "chat"
    Then the lease answer names the engine at the host "127.0.0.1"
    And the engine the lease names refuses connections at the host "127.0.0.2"
