package chart

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func deployment(t *testing.T, r *rendered) *appsv1.Deployment {
	t.Helper()
	var d appsv1.Deployment
	r.one(t, "Deployment", &d)
	return &d
}

// webhookEnv is the webhook container's literal environment.
func webhookEnv(t *testing.T, r *rendered) map[string]string {
	t.Helper()
	d := deployment(t, r)
	env := map[string]string{}
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		if e.ValueFrom == nil {
			env[e.Name] = e.Value
		}
	}
	return env
}

func TestDeploymentIsHighlyAvailable(t *testing.T) {
	t.Parallel()
	d := deployment(t, render(t))
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas = %v, want 2", d.Spec.Replicas)
	}
	ru := d.Spec.Strategy.RollingUpdate
	if ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
		t.Errorf("rolling update %+v: want maxUnavailable 0 so a rollout never drops a serving pod", ru)
	}
	spec := d.Spec.Template.Spec
	spreadsNodes := false
	for _, c := range spec.TopologySpreadConstraints {
		if c.TopologyKey == "kubernetes.io/hostname" && matches(c.LabelSelector, d.Spec.Template.Labels) {
			spreadsNodes = true
		}
	}
	if !spreadsNodes {
		t.Errorf("no topology spread over kubernetes.io/hostname selecting the webhook pods: %+v", spec.TopologySpreadConstraints)
	}
	aa := spec.Affinity.PodAntiAffinity
	if aa == nil || len(aa.PreferredDuringSchedulingIgnoredDuringExecution) == 0 ||
		!matches(aa.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm.LabelSelector, d.Spec.Template.Labels) {
		t.Errorf("no pod anti-affinity selecting the webhook pods: %+v", spec.Affinity)
	}
	if spec.PriorityClassName != "" {
		t.Errorf("priorityClassName = %q by default, want none", spec.PriorityClassName)
	}
	d = deployment(t, render(t, "--set", "priorityClassName=system-cluster-critical", "--set", "replicaCount=3"))
	if d.Spec.Template.Spec.PriorityClassName != "system-cluster-critical" || *d.Spec.Replicas != 3 {
		t.Errorf("priorityClassName %q replicas %d, want system-cluster-critical and 3", d.Spec.Template.Spec.PriorityClassName, *d.Spec.Replicas)
	}
}

func matches(sel *metav1.LabelSelector, podLabels map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && !s.Empty() && s.Matches(labels.Set(podLabels))
}

// allowedDisruptions is what the disruption controller would allow with every pod healthy.
func allowedDisruptions(t *testing.T, pdb *policyv1.PodDisruptionBudget, replicas int) int {
	t.Helper()
	if pdb.Spec.MinAvailable != nil {
		v, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MinAvailable, replicas, true)
		if err != nil {
			t.Fatal(err)
		}
		return replicas - v
	}
	v, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MaxUnavailable, replicas, true)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestPodDisruptionBudgetLetsANodeDrain(t *testing.T) {
	t.Parallel()
	for _, replicas := range []string{"1", "2", "5"} {
		r := render(t, "--set", "replicaCount="+replicas)
		d := deployment(t, r)
		var pdb policyv1.PodDisruptionBudget
		r.one(t, "PodDisruptionBudget", &pdb)
		if !matches(pdb.Spec.Selector, d.Spec.Template.Labels) {
			t.Errorf("replicas %s: the PDB selector %v does not select the webhook pods", replicas, pdb.Spec.Selector)
		}
		if n := allowedDisruptions(t, &pdb, int(*d.Spec.Replicas)); n < 1 {
			t.Errorf("replicas %s: the PDB allows %d disruptions; a drain would hang", replicas, n)
		}
		if pdb.Spec.UnhealthyPodEvictionPolicy == nil || *pdb.Spec.UnhealthyPodEvictionPolicy != policyv1.AlwaysAllow {
			t.Errorf("replicas %s: unhealthyPodEvictionPolicy = %v, want AlwaysAllow", replicas, pdb.Spec.UnhealthyPodEvictionPolicy)
		}
	}
	if msg := renderError(t, "--set", "podDisruptionBudget.maxUnavailable=0"); !strings.Contains(msg, "maxUnavailable") {
		t.Errorf("maxUnavailable 0: error %q does not name the value", msg)
	}
	if render(t, "--set", "podDisruptionBudget.enabled=false").has("PodDisruptionBudget") {
		t.Error("podDisruptionBudget.enabled=false still renders a PDB")
	}
}

func TestPodsAreHardened(t *testing.T) {
	t.Parallel()
	r := render(t)
	var pods []corev1.PodSpec
	pods = append(pods, deployment(t, r).Spec.Template.Spec)
	var testPod corev1.Pod
	r.one(t, "Pod", &testPod)
	pods = append(pods, testPod.Spec)
	for i, spec := range pods {
		name := []string{"webhook Deployment", "helm test Pod"}[i]
		if spec.HostNetwork || spec.HostPID || spec.HostIPC {
			t.Errorf("%s uses host namespaces", name)
		}
		for _, v := range spec.Volumes {
			if v.HostPath != nil {
				t.Errorf("%s mounts hostPath %s", name, v.HostPath.Path)
			}
		}
		psc := spec.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
			t.Errorf("%s pod securityContext %+v: want runAsNonRoot and a non-zero runAsUser", name, psc)
		}
		if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s pod seccompProfile is not RuntimeDefault", name)
		}
		for _, c := range append(spec.InitContainers, spec.Containers...) {
			sc := c.SecurityContext
			switch {
			case sc == nil:
				t.Errorf("%s container %s has no securityContext", name, c.Name)
				continue
			case sc.Privileged != nil && *sc.Privileged:
				t.Errorf("%s container %s is privileged", name, c.Name)
			case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
				t.Errorf("%s container %s allows privilege escalation", name, c.Name)
			case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
				t.Errorf("%s container %s has a writable root filesystem", name, c.Name)
			case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
				t.Errorf("%s container %s capabilities %+v: want drop [ALL], add none", name, c.Name, sc.Capabilities)
			case sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
				t.Errorf("%s container %s seccompProfile is not RuntimeDefault", name, c.Name)
			case sc.RunAsUser != nil && *sc.RunAsUser == 0:
				t.Errorf("%s container %s runs as root", name, c.Name)
			}
			if c.Resources.Limits.Memory().IsZero() {
				t.Errorf("%s container %s has no memory limit", name, c.Name)
			}
		}
	}
}

func TestWebhookContainerProbesResourcesAndShutdown(t *testing.T) {
	t.Parallel()
	d := deployment(t, render(t))
	spec := d.Spec.Template.Spec
	c := spec.Containers[0]
	probes := map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe, "startup": c.StartupProbe}
	want := map[string]string{"readiness": "/readyz", "liveness": "/healthz", "startup": "/readyz"}
	for kind, p := range probes {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s probe missing or not HTTP: %+v", kind, p)
			continue
		}
		if p.HTTPGet.Path != want[kind] || p.HTTPGet.Scheme != corev1.URISchemeHTTPS || p.HTTPGet.Port.String() != "https" {
			t.Errorf("%s probe = %s %s port %s, want HTTPS %s on the https port", kind, p.HTTPGet.Scheme, p.HTTPGet.Path, p.HTTPGet.Port.String(), want[kind])
		}
	}
	if len(c.Ports) != 1 || c.Ports[0].Name != "https" || c.Ports[0].ContainerPort != 8443 {
		t.Errorf("ports = %+v, want https 8443", c.Ports)
	}
	if env := webhookEnv(t, render(t)); env["SIGNET_LISTEN"] != ":8443" {
		t.Errorf("SIGNET_LISTEN = %q, want :8443 to match the container port", env["SIGNET_LISTEN"])
	}
	requests := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")}
	for name, q := range requests {
		if got := c.Resources.Requests[name]; got.Cmp(q) != 0 {
			t.Errorf("request %s = %s, want %s", name, got.String(), q.String())
		}
	}
	if got := c.Resources.Limits[corev1.ResourceMemory]; got.Cmp(resource.MustParse("256Mi")) != 0 {
		t.Errorf("memory limit = %s, want 256Mi", got.String())
	}
	if _, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
		t.Error("a CPU limit throttles admission latency; the chart sets none by default")
	}
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil || c.Lifecycle.PreStop.Sleep.Seconds < 1 {
		t.Fatalf("no preStop sleep: the pod would stop serving before endpoints drop it")
	}
	env := webhookEnv(t, render(t))
	shutdown := parseSeconds(t, env["SIGNET_SHUTDOWN_TIMEOUT"])
	if grace := *spec.TerminationGracePeriodSeconds; grace <= c.Lifecycle.PreStop.Sleep.Seconds+shutdown {
		t.Errorf("terminationGracePeriodSeconds %d does not cover preStop %ds + shutdown %ds", grace, c.Lifecycle.PreStop.Sleep.Seconds, shutdown)
	}
}

func parseSeconds(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	for _, ch := range strings.TrimSuffix(s, "s") {
		if ch < '0' || ch > '9' {
			t.Fatalf("%q is not whole seconds", s)
		}
		n = n*10 + int64(ch-'0')
	}
	return n
}

func TestServiceRoutesToTheWebhookPort(t *testing.T) {
	t.Parallel()
	r := render(t)
	var svc corev1.Service
	r.one(t, "Service", &svc)
	d := deployment(t, r)
	if svc.Name != fullname || !matches(&metav1.LabelSelector{MatchLabels: svc.Spec.Selector}, d.Spec.Template.Labels) {
		t.Errorf("Service %s selector %v does not select the webhook pods %v", svc.Name, svc.Spec.Selector, d.Spec.Template.Labels)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 443 || svc.Spec.Ports[0].TargetPort.String() != "https" {
		t.Errorf("Service ports = %+v, want 443 → https", svc.Spec.Ports)
	}
	var sa corev1.ServiceAccount
	r.one(t, "ServiceAccount", &sa)
	if d.Spec.Template.Spec.ServiceAccountName != sa.Name {
		t.Errorf("pods run as %q, the chart's ServiceAccount is %q", d.Spec.Template.Spec.ServiceAccountName, sa.Name)
	}
}

func TestImageByTagOrDigest(t *testing.T) {
	t.Parallel()
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := map[string]struct {
		set  []string
		want string
	}{
		"By default the tag is the chart's appVersion.": {
			want: "registry.example.com/signet/signet-webhook:0.1.0",
		},
		"A tag replaces the appVersion.": {
			set:  []string{"--set", "image.repository=zot.internal:5000/sec/signet-webhook", "--set", "image.tag=v1.2.3"},
			want: "zot.internal:5000/sec/signet-webhook:v1.2.3",
		},
		"A digest alone pulls by digest, with no implied tag.": {
			set:  []string{"--set", "image.digest=" + digest},
			want: "registry.example.com/signet/signet-webhook@" + digest,
		},
		"A tag and a digest give tag@digest.": {
			set:  []string{"--set", "image.tag=v1.2.3", "--set", "image.digest=" + digest},
			want: "registry.example.com/signet/signet-webhook:v1.2.3@" + digest,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := render(t, tc.set...)
			if got := deployment(t, r).Spec.Template.Spec.Containers[0].Image; got != tc.want {
				t.Errorf("Deployment image = %q, want %q", got, tc.want)
			}
			var pod corev1.Pod
			r.one(t, "Pod", &pod)
			if got := pod.Spec.Containers[0].Image; got != tc.want {
				t.Errorf("helm test Pod image = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestHelmTestPodIsReviewedByTheWebhook(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		set    []string
		wantNS string
	}{
		"By default the test Pod goes to the default namespace.": {wantNS: "default"},
		"A release in default puts the test Pod in kube-public.": {
			set: []string{"--namespace", "default"}, wantNS: "kube-public",
		},
		"tests.namespace chooses the namespace.": {
			set: []string{"--set", "tests.namespace=signet-smoke"}, wantNS: "signet-smoke",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := render(t, tc.set...)
			var pod corev1.Pod
			r.one(t, "Pod", &pod)
			if pod.Annotations["helm.sh/hook"] != "test" {
				t.Errorf("the test Pod has hook %q, want test", pod.Annotations["helm.sh/hook"])
			}
			if pod.Namespace != tc.wantNS {
				t.Errorf("the test Pod is in %q, want %q", pod.Namespace, tc.wantNS)
			}
			ns := namespaceLabels(pod.Namespace)
			for which, wh := range webhooks(t, r) {
				sel, _ := metav1.LabelSelectorAsSelector(wh.NamespaceSelector)
				if !sel.Matches(ns) {
					t.Errorf("the %s webhook does not review namespace %s, so the test Pod proves nothing", which, pod.Namespace)
				}
			}
			if pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
				t.Errorf("test Pod restartPolicy = %s, want Never", pod.Spec.RestartPolicy)
			}
		})
	}
	msg := renderError(t, "--set", "tests.namespace="+namespace)
	if !strings.Contains(msg, "tests.namespace") || !strings.Contains(msg, "excluded") {
		t.Errorf("a test namespace the webhook skips: error %q does not explain", msg)
	}
}
