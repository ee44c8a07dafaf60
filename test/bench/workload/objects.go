package workload

import (
	"encoding/json"
	"fmt"
	"strings"
)

// container renders one container the way a typical chart writes it: resources, env, ports,
// probes, mounts and a security context around the image.
func container(i int, image string) string {
	return fmt.Sprintf(`{"name":"c%[1]d","image":%[2]q,"imagePullPolicy":"IfNotPresent",`+
		`"args":["--port=80%02[1]d","--log-format=json"],`+
		`"env":[{"name":"POD_NAME","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}},{"name":"LOG_LEVEL","value":"info"},{"name":"GOMAXPROCS","value":"2"}],`+
		`"ports":[{"name":"http","containerPort":80%02[1]d,"protocol":"TCP"}],`+
		`"resources":{"requests":{"cpu":"100m","memory":"128Mi"},"limits":{"memory":"256Mi"}},`+
		`"readinessProbe":{"httpGet":{"path":"/readyz","port":80%02[1]d,"scheme":"HTTP"},"periodSeconds":10,"timeoutSeconds":1,"successThreshold":1,"failureThreshold":3},`+
		`"livenessProbe":{"httpGet":{"path":"/healthz","port":80%02[1]d,"scheme":"HTTP"},"periodSeconds":10,"timeoutSeconds":1,"successThreshold":1,"failureThreshold":3},`+
		`"volumeMounts":[{"name":"config","mountPath":"/etc/app","readOnly":true},{"name":"kube-api-access","mountPath":"/var/run/secrets/kubernetes.io/serviceaccount","readOnly":true}],`+
		`"securityContext":{"allowPrivilegeEscalation":false,"readOnlyRootFilesystem":true,"runAsNonRoot":true,"capabilities":{"drop":["ALL"]}},`+
		`"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File"}`, i, image)
}

// podSpec renders a pod spec with one container per image.
func podSpec(images []string) string {
	cs := make([]string, len(images))
	for i, img := range images {
		cs[i] = container(i, img)
	}
	return `{"containers":[` + strings.Join(cs, ",") + `],` +
		`"volumes":[{"name":"config","configMap":{"name":"app-config","defaultMode":420}},` +
		`{"name":"kube-api-access","projected":{"defaultMode":420,"sources":[{"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}},{"configMap":{"name":"kube-root-ca.crt","items":[{"key":"ca.crt","path":"ca.crt"}]}}]}}],` +
		`"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","serviceAccountName":"app","serviceAccount":"app",` +
		`"securityContext":{"fsGroup":2000,"seccompProfile":{"type":"RuntimeDefault"}},"schedulerName":"default-scheduler",` +
		`"tolerations":[{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300},{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}],` +
		`"priority":0,"enableServiceLinks":true,"preemptionPolicy":"PreemptLowerPriority"}`
}

const labels = `{"app.kubernetes.io/name":"app","app.kubernetes.io/instance":"app-prod","app.kubernetes.io/version":"1.4.2","pod-template-hash":"7d9f8b6c5d"}`

// Pod is a Pod in namespace ns as a ReplicaSet's controller creates it.
func Pod(ns, podName string, images ...string) string {
	return `{"apiVersion":"v1","kind":"Pod","metadata":{"name":` + quote(podName) + `,"generateName":"app-7d9f8b6c5d-","namespace":` + quote(ns) + `,` +
		`"labels":` + labels + `,"annotations":{"kubectl.kubernetes.io/restartedAt":"2025-01-01T00:00:00Z"},` +
		`"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"app-7d9f8b6c5d","uid":"3f1c0a4e-9a51-4d5e-8d0b-2f9f3c1e7a10","controller":true,"blockOwnerDeletion":true}]},` +
		`"spec":` + podSpec(images) + `,"status":{}}`
}

// Deployment is a Deployment of replicas Pods running images.
func Deployment(ns, depName string, replicas int, images ...string) string {
	return `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":` + quote(depName) + `,"namespace":` + quote(ns) + `,"labels":` + labels + `},` +
		fmt.Sprintf(`"spec":{"replicas":%d,"revisionHistoryLimit":10,"progressDeadlineSeconds":600,`, replicas) +
		`"selector":{"matchLabels":{"app.kubernetes.io/name":"app"}},` +
		`"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%","maxUnavailable":"25%"}},` +
		`"template":{"metadata":{"labels":` + labels + `},"spec":` + podSpec(images) + `}},"status":{}}`
}

// CronJob is a CronJob whose jobs run images.
func CronJob(ns, cjName string, images ...string) string {
	return `{"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":` + quote(cjName) + `,"namespace":` + quote(ns) + `,"labels":` + labels + `},` +
		`"spec":{"schedule":"*/5 * * * *","concurrencyPolicy":"Forbid","successfulJobsHistoryLimit":3,"failedJobsHistoryLimit":1,` +
		`"jobTemplate":{"spec":{"backoffLimit":2,"template":{"metadata":{"labels":` + labels + `},"spec":` +
		strings.Replace(podSpec(images), `"restartPolicy":"Always"`, `"restartPolicy":"OnFailure"`, 1) + `}}}},"status":{}}`
}

// Kind returns the group, version and resource of a kind this package makes.
func Kind(kind string) (group, version, resource string) {
	switch kind {
	case "Deployment":
		return "apps", "v1", "deployments"
	case "CronJob":
		return "batch", "v1", "cronjobs"
	}
	return "", "v1", "pods"
}

// Review wraps object (JSON) in an AdmissionReview v1 CREATE request body, as the API server
// sends it to a webhook.
func Review(uid, kind, ns, objName, object string) []byte {
	group, version, resource := Kind(kind)
	gvk := fmt.Sprintf(`{"group":%q,"version":%q,"kind":%q}`, group, version, kind)
	gvr := fmt.Sprintf(`{"group":%q,"version":%q,"resource":%q}`, group, version, resource)
	return []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{` +
		`"uid":` + quote(uid) + `,"kind":` + gvk + `,"resource":` + gvr + `,"requestKind":` + gvk + `,"requestResource":` + gvr + `,` +
		`"name":` + quote(objName) + `,"namespace":` + quote(ns) + `,"operation":"CREATE",` +
		`"userInfo":{"username":"system:serviceaccount:kube-system:replicaset-controller","uid":"0b5d9f0e-2d61-4c7e-a2f1-6f3b1f6a9c11","groups":["system:serviceaccounts","system:serviceaccounts:kube-system","system:authenticated"]},` +
		`"object":` + object + `,"oldObject":null,"dryRun":false,` +
		`"options":{"kind":"CreateOptions","apiVersion":"meta.k8s.io/v1"}}}`)
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
