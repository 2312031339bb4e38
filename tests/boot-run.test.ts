// The rendered boot scripts, run for real against stub commands (tests/boot-stubs.ts): a rebuilt
// master joins the running cluster instead of creating a second one, two masters racing on a new
// cluster create exactly one, a failed step is retried, an agent joins with the token the masters
// publish, and the identities can do only what the boot needs.
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import {
    BOOTSTRAP_SCRIPT_PATH,
    BOOTSTRAP_STATE_PATH,
    JOIN_TOKEN_PATH,
    KUBEADM_CONFIG_PATH,
    METADATA_BLOBS,
    METADATA_CONTAINERS,
    renderAgentCloudInit,
    renderMasterCloudInit,
    renderMasterSettleScript,
} from "../components/infra/cloudinit";
import { CONTAINERD_APT_VERSION } from "../components/infra/pins";
import { caCertHash } from "../components/infra/pki";
import { BLOB_ENDPOINT, BootWorld, TEST_CLUSTER, makeCa } from "./boot-stubs";

const MASTER_ID = "6f1c2e0a-93b4-4d7e-8a51-2c9f0e7b3d14";
const AGENT_ID = "0b7d4c1e-2f3a-4b5c-9d6e-7f8091a2b3c4";
const CLUSTER = TEST_CLUSTER;
const MASTER_DOC = renderMasterCloudInit({ ...CLUSTER, metadata: { blobEndpoint: BLOB_ENDPOINT, identityClientId: MASTER_ID } });
// What each identity may do, as the metadata store's role assignments grant it.
const ACL = {
    [MASTER_ID]: {
        [METADATA_CONTAINERS.pki]: "read",
        [METADATA_CONTAINERS.bootstrap]: "write",
        [METADATA_CONTAINERS.join]: "write",
    },
    [AGENT_ID]: { [METADATA_CONTAINERS.join]: "read" },
} as const;
const SCRIPT = BOOTSTRAP_SCRIPT_PATH.slice(1);

/** The kubeadm documents of a filled-in configuration, read as kubeadm (YAML 1.1) reads them. */
function kubeadm(text: string, kind: string): any {
    const doc = (yaml.loadAll(text, { schema: yaml.YAML11_SCHEMA }) as any[]).find((d) => d?.kind === kind);
    assert.ok(doc, `no ${kind} in\n${text}`);
    return doc;
}

function kubeletArg(doc: any, name: string): string | undefined {
    return (doc.nodeRegistration.kubeletExtraArgs as Array<{ name: string; value: string }>).find((a) => a.name === name)?.value;
}

describe("boot scripts run against stub commands", function () {
    this.timeout(180_000);
    let world: BootWorld;
    let ca: { crt: string; key: string };

    beforeEach(() => {
        world = new BootWorld(ACL as unknown as Record<string, Record<string, "read" | "write">>);
        ca = makeCa(world.dir);
        for (const blob of Object.values(METADATA_BLOBS)) {
            world.putBlob(`${METADATA_CONTAINERS.pki}/${blob}`, blob === METADATA_BLOBS.caCrt ? ca.crt : `placeholder for ${blob}\n`);
        }
    });
    afterEach(() => world.dispose());

    /** The only running master of the cluster: its etcd pod and member, its kubelet's serving certificate approved. */
    function oneMasterRunning(name: string, ip: string): void {
        world.write("etcd-pods", `etcd-${name}\n`);
        world.write(`serving-approved-${name}`, "");
        world.write("etcd-members", `91bc3c398fb3c146, started, ${name}, https://${ip}:2380, https://${ip}:2379, false\n`);
    }

    function state(root: string): Record<string, string> {
        const text = fs.readFileSync(path.join(root, BOOTSTRAP_STATE_PATH), "utf8");
        return Object.fromEntries(text.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    }

    function hostsEntry(root: string): string | undefined {
        return apiHostLine(fs.readFileSync(path.join(root, "etc/hosts"), "utf8"));
    }

    function apiHostLine(hosts: string): string | undefined {
        return hosts.split("\n").find((l) => l.endsWith(` ${CLUSTER.apiServerHost}`));
    }

    it("a master on a new cluster takes the init lock, creates the cluster, records it and publishes an agent join token", () => {
        const root = world.node("aura-prod-master-0", MASTER_DOC);
        const r = world.run("aura-prod-master-0", root, SCRIPT);
        assert.equal(r.status, 0, r.output);
        assert.equal(world.read("init-by"), "aura-prod-master-0\n");
        assert.equal(world.read("joined"), "");
        const calls = world.calls("aura-prod-master-0");
        const acquire = calls.findIndex((c) => /blob PUT cluster-bootstrap\/init\.lock comp=lease acquire/.test(c));
        const init = calls.findIndex((c) => c.startsWith("kubeadm init --config"));
        const marker = calls.findIndex((c) => /blob PUT cluster-bootstrap\/initialized as/.test(c));
        const released = calls.findIndex((c) => /init\.lock comp=lease release/.test(c));
        assert.ok(acquire >= 0 && acquire < init && init < marker && marker < released, calls.join("\n"));
        // The record names the creator and where joining masters reach its API server.
        assert.equal(world.read("blobs/cluster-bootstrap/initialized"), "initialized by aura-prod-master-0\naddress 10.240.0.4\n");
        assert.match(fs.readFileSync(path.join(world.state, "blobs", JOIN_TOKEN_PATH), "utf8"), /^[a-z0-9]{6}\.[a-z0-9]{16}/);
        assert.ok(calls.some((c) => c === "kubeadm token create --kubeconfig " + path.join(root, "etc/kubernetes/admin.conf") + " --ttl 48h --description aura: agent join, published to node-join/token"));
        assert.ok(calls.some((c) => /^systemctl enable --now aura-renew-certs\.timer aura-join-token\.timer$/.test(c)));
        // kubelet --node-ip comes from the NIC's address.
        const config = fs.readFileSync(path.join(root, KUBEADM_CONFIG_PATH), "utf8");
        assert.equal(kubeletArg(kubeadm(config, "InitConfiguration"), "node-ip"), "10.240.0.4");
        assert.deepEqual(state(root).status, "done");
        // containerd (2.x config): the systemd cgroup driver, and the pause image kubeadm expects.
        const containerd = fs.readFileSync(path.join(root, "etc/containerd/config.toml"), "utf8");
        assert.match(containerd, /^ {4}SystemdCgroup = true$/m);
        assert.match(containerd, /^ {4}sandbox = 'registry\.k8s\.io\/pause:3\.10'$/m);
        assert.equal(hostsEntry(root), `127.0.0.1 ${CLUSTER.apiServerHost}`);
        // kubeadm init talks to the local API server: the internal load balancer would send this
        // node's own flows back to it, which Azure drops.
        assert.equal(apiHostLine(world.read("hosts-at-init")), `127.0.0.1 ${CLUSTER.apiServerHost}`);
        // Its kubelet's serving certificate is approved before the next master joins (which execs
        // into this node's etcd); only its own request.
        assert.equal(world.read("csr-approved"), "aura-prod-master-0 csr-aura-prod-master-0\n");
        assert.ok(fs.existsSync(path.join(root, "var/lib/kubelet/pki/kubelet-server-current.pem")));
        // A second start (a reboot) does nothing.
        const again = world.run("aura-prod-master-0", root, SCRIPT);
        assert.equal(again.status, 0);
        assert.match(again.output, /bootstrap already completed/);
    });

    it("master 0 rebuilt while the cluster runs: removes its stale etcd member and joins, never inits", () => {
        world.write("api-up", "");
        world.putBlob("cluster-bootstrap/initialized", "initialized by aura-prod-master-0\n");
        world.write("etcd-pods", "etcd-aura-prod-master-0\netcd-aura-prod-master-1\netcd-aura-prod-master-2\n");
        // The running masters' kubelets have their serving certificates.
        for (const m of ["aura-prod-master-1", "aura-prod-master-2"]) world.write(`serving-approved-${m}`, "");
        world.write(
            "etcd-members",
            [
                "8e9e05c52164694d, started, aura-prod-master-0, https://10.240.0.9:2380, https://10.240.0.9:2379, false",
                "91bc3c398fb3c146, started, aura-prod-master-1, https://10.240.0.5:2380, https://10.240.0.5:2379, false",
                "fd422379fda50e48, started, aura-prod-master-2, https://10.240.0.6:2380, https://10.240.0.6:2379, false",
                "",
            ].join("\n"),
        );
        const root = world.node("aura-prod-master-0", MASTER_DOC);
        // The rebuilt VM kept its etcd disk: the old data must go aside, not into the join.
        fs.mkdirSync(path.join(root, "var/lib/etcddisk/etcd/member"), { recursive: true });
        const r = world.run("aura-prod-master-0", root, SCRIPT, "10.240.0.7");
        assert.equal(r.status, 0, r.output);
        assert.equal(world.read("init-by"), "", "a rebuilt master must not create a second cluster");
        assert.equal(world.read("joined"), "aura-prod-master-0\n");
        assert.equal(world.read("etcd-removed"), "8e9e05c52164694d\n", "only its own stale member is removed");
        const calls = world.calls("aura-prod-master-0");
        const removed = calls.findIndex((c) => /etcdctl .* member remove 8e9e05c52164694d$/.test(c));
        const joined = calls.findIndex((c) => c.startsWith("kubeadm join --config"));
        assert.ok(removed >= 0 && removed < joined, "the stale member goes before the join");
        assert.ok(!calls.some((c) => /init\.lock comp=lease acquire/.test(c)), "no lock needed when the API answers");
        const join = kubeadm(world.read("join-config-aura-prod-master-0.yaml"), "JoinConfiguration");
        assert.deepEqual(join.controlPlane, {});
        assert.equal(join.discovery.bootstrapToken.token, "k7x9q2.p4m8z1c6v3b5n7w0");
        const caPub = crypto.createPublicKey(ca.crt).export({ type: "spki", format: "pem" }).toString();
        assert.deepEqual(join.discovery.bootstrapToken.caCertHashes, [caCertHash(caPub)]);
        assert.equal(kubeletArg(join, "node-ip"), "10.240.0.7");
        assert.ok(fs.readdirSync(path.join(root, "var/lib/etcddisk")).some((d) => d.startsWith("etcd.stale-")));
        assert.equal(state(root).status, "done");
        assert.equal(hostsEntry(root), `127.0.0.1 ${CLUSTER.apiServerHost}`);
        // The join goes through the internal load balancer (this node runs no API server yet).
        assert.equal(apiHostLine(world.read("hosts-at-join-aura-prod-master-0")), `${CLUSTER.apiServerInternalIp} ${CLUSTER.apiServerHost}`);
        assert.equal(world.read("csr-approved"), "aura-prod-master-0 csr-aura-prod-master-0\n");
    });

    it("a creator that stopped after kubeadm init, before recording its cluster, records it under the init lock on the next run", () => {
        const root = world.node("aura-prod-master-0", MASTER_DOC);
        // The earlier run's kubeadm init completed; its cluster's API server runs again after the reboot.
        fs.mkdirSync(path.join(root, "var/lib/aura"), { recursive: true });
        fs.writeFileSync(path.join(root, "var/lib/aura/kubeadm.done"), "init\n");
        fs.mkdirSync(path.join(root, "etc/kubernetes"), { recursive: true });
        fs.writeFileSync(path.join(root, "etc/kubernetes/admin.conf"), "apiVersion: v1\n");
        world.write("api-up", "");
        const r = world.run("aura-prod-master-0", root, SCRIPT);
        assert.equal(r.status, 0, r.output);
        assert.equal(world.read("init-by"), "", "no second kubeadm init");
        assert.equal(world.read("joined"), "");
        const calls = world.calls("aura-prod-master-0");
        const acquire = calls.findIndex((c) => /init\.lock comp=lease acquire/.test(c));
        const record = calls.findIndex((c) => /blob PUT cluster-bootstrap\/initialized as/.test(c));
        const released = calls.findIndex((c) => /init\.lock comp=lease release/.test(c));
        assert.ok(acquire >= 0 && acquire < record && record < released, calls.join("\n"));
        assert.equal(fs.readFileSync(path.join(world.state, "blobs", "cluster-bootstrap/initialized"), "utf8"), "initialized by aura-prod-master-0\naddress 10.240.0.4\n");
        assert.equal(state(root).status, "done");
    });

    it("a creator that crashed after recording its cluster, before its kubeadm marker reached the disk, carries on as the creator", () => {
        const root = world.node("aura-prod-master-0", MASTER_DOC);
        // Its cluster is on its disks (manifests, etcd data) and recorded under its name; the marker is not.
        world.putBlob("cluster-bootstrap/initialized", "initialized by aura-prod-master-0\n");
        fs.mkdirSync(path.join(root, "etc/kubernetes/manifests"), { recursive: true });
        fs.writeFileSync(path.join(root, "etc/kubernetes/manifests/kube-apiserver.yaml"), "kind: Pod\n");
        fs.writeFileSync(path.join(root, "etc/kubernetes/admin.conf"), "apiVersion: v1\n");
        fs.mkdirSync(path.join(root, "var/lib/etcddisk/etcd/member"), { recursive: true });
        const r = world.run("aura-prod-master-0", root, SCRIPT);
        assert.equal(r.status, 0, r.output);
        assert.equal(world.read("joined"), "", "joining would move the cluster's only etcd data aside");
        assert.equal(world.read("init-by"), "");
        assert.ok(fs.existsSync(path.join(root, "var/lib/etcddisk/etcd/member")), "etcd data in place");
        assert.ok(!fs.readdirSync(path.join(root, "var/lib/etcddisk")).some((d) => d.startsWith("etcd.stale-")));
        assert.equal(fs.readFileSync(path.join(root, "var/lib/aura/kubeadm.done"), "utf8"), "init\n");
        assert.equal(state(root).status, "done");
    });

    it("a creator whose init lease lapsed during kubeadm init, and was taken by another master, yields to it", () => {
        world.write("init-lease-lapses", "");
        const root = world.node("aura-prod-master-0", MASTER_DOC);
        const r = world.run("aura-prod-master-0", root, SCRIPT);
        assert.notEqual(r.status, 0);
        assert.equal(world.read("init-by"), "aura-prod-master-0\n");
        assert.ok(world.calls("aura-prod-master-0").includes("kubeadm reset -f"));
        assert.ok(!world.blobExists("cluster-bootstrap/initialized"), "it records nothing: the lock holder's cluster will be the one");
        assert.ok(!fs.existsSync(path.join(root, "var/lib/aura/kubeadm.done")));
        assert.match(r.output, /another master took the init lock while this node's lease had lapsed/);
    });

    it("a master finding only a joined master's record (its creator never recorded the cluster) joins, never inits", () => {
        // Every master was down; the creator had stopped before recording, a joined master had not.
        world.putBlob("cluster-bootstrap/joined", "joined by aura-prod-master-1\n");
        oneMasterRunning("aura-prod-master-1", "10.240.0.5");
        const root = world.node("aura-prod-master-2", MASTER_DOC);
        // No API server answers while it decides (the stubbed join itself needs none).
        const r = world.run("aura-prod-master-2", root, SCRIPT, "10.240.0.6");
        assert.equal(r.status, 0, r.output);
        assert.equal(world.read("init-by"), "", "no second cluster");
        assert.equal(world.read("joined"), "aura-prod-master-2\n");
        assert.ok(!world.calls("aura-prod-master-2").some((c) => /init\.lock comp=lease acquire/.test(c)), "the record alone says the cluster exists");
    });

    it("a creator whose lease ran out while another master created and recorded the cluster removes its own, and the next run joins", () => {
        // master-1 ran kubeadm init, then stalled past its lease; master-0 took the lock, created the
        // cluster and recorded it. Two API servers now answer: master-1's must go.
        world.write("api-up", "");
        world.putBlob("cluster-bootstrap/initialized", "initialized by aura-prod-master-0\n");
        oneMasterRunning("aura-prod-master-0", "10.240.0.4");
        const root = world.node("aura-prod-master-1", MASTER_DOC);
        fs.mkdirSync(path.join(root, "var/lib/aura"), { recursive: true });
        fs.writeFileSync(path.join(root, "var/lib/aura/kubeadm.done"), "init\n");
        const first = world.run("aura-prod-master-1", root, SCRIPT, "10.240.0.5");
        assert.notEqual(first.status, 0, "the run fails: systemd starts it again");
        assert.equal(state(root).status, "failed");
        assert.match(state(root).step ?? "", /cluster-record/);
        const calls = world.calls("aura-prod-master-1");
        assert.ok(calls.includes("kubeadm reset -f"), calls.join("\n"));
        assert.ok(!fs.existsSync(path.join(root, "var/lib/aura/kubeadm.done")), "its own cluster is forgotten");
        assert.ok(calls.some((c) => /init\.lock comp=lease release/.test(c)), "the init lock is released");
        assert.equal(fs.readFileSync(path.join(world.state, "blobs", "cluster-bootstrap/initialized"), "utf8"), "initialized by aura-prod-master-0\n", "the record stands");
        const second = world.run("aura-prod-master-1", root, SCRIPT, "10.240.0.5");
        assert.equal(second.status, 0, second.output);
        assert.equal(world.read("joined"), "aura-prod-master-1\n");
        assert.equal(world.read("init-by"), "");
        assert.equal(state(root).status, "done");
    });

    /** A running cluster that master-1 created (at 10.240.0.5) and recorded with its address. */
    function recordedCluster(creatorAnswers: boolean): void {
        world.write("api-up", "");
        if (creatorAnswers) world.write("api-up-at-10.240.0.5", "");
        world.putBlob("cluster-bootstrap/initialized", "initialized by aura-prod-master-1\naddress 10.240.0.5\n");
        oneMasterRunning("aura-prod-master-1", "10.240.0.5");
    }

    it("a joining master goes to the recorded creator's API server: through the load balancer it could reach a master that lost the init race", () => {
        recordedCluster(true);
        const root = world.node("aura-prod-master-2", MASTER_DOC);
        const r = world.run("aura-prod-master-2", root, SCRIPT, "10.240.0.6");
        assert.equal(r.status, 0, r.output);
        assert.equal(world.read("joined"), "aura-prod-master-2\n");
        assert.ok(world.calls("aura-prod-master-2").includes("curl api-probe 10.240.0.5 up"));
        // Everything the join does (the etcd member check, the token, kubeadm join) resolves the API name to the creator.
        assert.equal(apiHostLine(world.read("hosts-at-join-aura-prod-master-2")), `10.240.0.5 ${CLUSTER.apiServerHost}`);
        assert.equal(hostsEntry(root), `127.0.0.1 ${CLUSTER.apiServerHost}`, "then to its own API server");
    });

    it("when the recorded creator does not answer (down, or being rebuilt: the race is long over), the join goes through the load balancer", () => {
        recordedCluster(false);
        const root = world.node("aura-prod-master-2", MASTER_DOC);
        const r = world.run("aura-prod-master-2", root, SCRIPT, "10.240.0.6");
        assert.equal(r.status, 0, r.output);
        assert.ok(world.calls("aura-prod-master-2").includes("curl api-probe 10.240.0.5 down"));
        assert.equal(apiHostLine(world.read("hosts-at-join-aura-prod-master-2")), `${CLUSTER.apiServerInternalIp} ${CLUSTER.apiServerHost}`);
    });

    it("a rebuilt creator joins through the load balancer, never through its own address", () => {
        recordedCluster(true);
        const root = world.node("aura-prod-master-1", MASTER_DOC);
        // Its kubelet is new: its serving certificate is not approved yet.
        fs.rmSync(path.join(world.state, "serving-approved-aura-prod-master-1"));
        world.write("etcd-pods", "etcd-aura-prod-master-1\netcd-aura-prod-master-2\n");
        world.write("serving-approved-aura-prod-master-2", "");
        const r = world.run("aura-prod-master-1", root, SCRIPT, "10.240.0.5");
        assert.equal(r.status, 0, r.output);
        assert.ok(!world.calls("aura-prod-master-1").some((c) => c.startsWith("curl api-probe 10.240.0.5")));
        assert.equal(apiHostLine(world.read("hosts-at-join-aura-prod-master-1")), `${CLUSTER.apiServerInternalIp} ${CLUSTER.apiServerHost}`);
    });

    it("an API server answering before any master recorded the cluster: the join waits for the record, then goes to its creator", () => {
        // Two masters ran kubeadm init (one outlived its lease); neither has recorded yet.
        world.write("api-up", "");
        world.write("api-up-at-10.240.0.4", "");
        world.write("api-up-at-10.240.0.5", "");
        oneMasterRunning("aura-prod-master-1", "10.240.0.5");
        const root = world.node("aura-prod-master-2", MASTER_DOC);
        const first = world.run("aura-prod-master-2", root, SCRIPT, "10.240.0.6");
        assert.notEqual(first.status, 0, "no join before the record");
        assert.equal(world.read("joined"), "");
        assert.ok(!world.calls("aura-prod-master-2").some((c) => c.startsWith("kubeadm join")));
        assert.match(first.output, /waiting for the creator to record the cluster/);
        assert.deepStrictEqual([state(root).status, state(root).step], ["failed", "kubeadm-join"], "systemd runs it again");
        // The lock holder records its cluster; the next run (systemd's restart) joins that one.
        world.putBlob("cluster-bootstrap/initialized", "initialized by aura-prod-master-1\naddress 10.240.0.5\n");
        const second = world.run("aura-prod-master-2", root, SCRIPT, "10.240.0.6");
        assert.equal(second.status, 0, second.output);
        assert.equal(apiHostLine(world.read("hosts-at-join-aura-prod-master-2")), `10.240.0.5 ${CLUSTER.apiServerHost}`);
    });

    it("two masters racing on a new cluster: exactly one inits, the other joins it", async () => {
        world.write("etcd-pods", "etcd-aura-prod-master-0\netcd-aura-prod-master-1\n");
        world.write("etcd-members", "");
        const hosts = ["aura-prod-master-0", "aura-prod-master-1"];
        const roots = hosts.map((h) => world.node(h, MASTER_DOC));
        // The winner's API comes up only through kubeadm init; the loser waits for it behind the lock.
        world.write("etcd-members", "91bc3c398fb3c146, started, aura-prod-master-0, https://10.240.0.4:2380, https://10.240.0.4:2379, false\n");
        const results = await Promise.all(hosts.map((h, i) => world.start(h, roots[i], SCRIPT, `10.240.0.${4 + i}`)));
        results.forEach((r, i) => assert.equal(r.status, 0, `${hosts[i]}:\n${r.output}`));
        const inits = world.read("init-by").trim().split("\n");
        assert.equal(inits.length, 1, `exactly one kubeadm init, got ${inits.join(", ")}`);
        const joined = world.read("joined").trim().split("\n");
        assert.deepEqual(joined, hosts.filter((h) => h !== inits[0]));
        for (const root of roots) assert.equal(state(root).status, "done");
        // The creator's record names it; the joiner records its join apart, never as the creator.
        const creatorIp = `10.240.0.${4 + hosts.indexOf(inits[0])}`;
        assert.equal(fs.readFileSync(path.join(world.state, "blobs", "cluster-bootstrap/initialized"), "utf8"), `initialized by ${inits[0]}\naddress ${creatorIp}\n`);
        assert.equal(fs.readFileSync(path.join(world.state, "blobs", "cluster-bootstrap/joined"), "utf8"), `joined by ${joined[0]}\n`);
        // Joins hold the join lock (etcd admits one learner at a time).
        const joiner = hosts.find((h) => h !== inits[0])!;
        const calls = world.calls(joiner);
        const acquired = calls.findIndex((c) => /join\.lock comp=lease acquire/.test(c));
        const join = calls.findIndex((c) => c.startsWith("kubeadm join --config"));
        const released = calls.findIndex((c) => /join\.lock comp=lease release/.test(c));
        assert.ok(acquired >= 0 && acquired < join && join < released, calls.join("\n"));
        // The join went to the creator's API server.
        assert.equal(apiHostLine(world.read(`hosts-at-join-${joiner}`)), `${creatorIp} ${CLUSTER.apiServerHost}`);
        // The joiner's exec into the first master's etcd waits for that kubelet's serving
        // certificate, which the first master approves itself (kubelet-csr-approver comes later).
        assert.deepEqual(world.read("csr-approved").trim().split("\n").sort(), hosts.map((h) => `${h} csr-${h}`));
    });

    it("the gate after a master's VM changed: nothing to wait for in a first boot; after a restart, it returns only once the master is back", async () => {
        const root = world.node("aura-prod-master-1", MASTER_DOC);
        const gate = "var/lib/aura/settle.sh";
        fs.mkdirSync(path.join(root, "var/lib/aura"), { recursive: true });
        fs.writeFileSync(path.join(root, gate), renderMasterSettleScript({ ...CLUSTER, metadata: { blobEndpoint: BLOB_ENDPOINT, identityClientId: MASTER_ID }, vmSize: "Standard_D4s_v5" }));
        const first = world.run("aura-prod-master-1", root, gate, "10.240.0.5");
        assert.equal(first.status, 0, first.output);
        assert.match(first.output, /aura-prod-master-1 \(Standard_D4s_v5\) is in its first boot: nothing to wait for/);
        // Booted before, but the cluster has no CNI yet (a first pulumi up stopped before the system
        // stage): no node can be Ready, and the gate waits for the components only.
        fs.writeFileSync(path.join(root, "var/lib/aura/bootstrap.done"), "");
        fs.mkdirSync(path.join(root, "etc/kubernetes"), { recursive: true });
        fs.writeFileSync(path.join(root, "etc/kubernetes/admin.conf"), "apiVersion: v1\n");
        const noCni = world.run("aura-prod-master-1", root, gate, "10.240.0.5");
        assert.equal(noCni.status, 0, noCni.output);
        assert.match(noCni.output, /is back: control plane healthy \(no CNI yet, so no node is Ready\)/);
        // With Cilium's configuration on the node, the gate waits for the node to be Ready too.
        fs.mkdirSync(path.join(root, "etc/cni/net.d"), { recursive: true });
        fs.writeFileSync(path.join(root, "etc/cni/net.d/05-cilium.conflist"), "{}\n");
        const waiting = world.start("aura-prod-master-1", root, gate, "10.240.0.5");
        let ended = false;
        void waiting.then(() => (ended = true));
        await new Promise((resolve) => setTimeout(resolve, 1500));
        assert.ok(!ended, "the gate returned before the node was Ready");
        world.write("node-ready-aura-prod-master-1", "");
        const back = await waiting;
        assert.equal(back.status, 0, back.output);
        assert.match(back.output, /is not Ready yet/);
        assert.match(back.output, /aura-prod-master-1 \(Standard_D4s_v5\) is back: control plane healthy, node Ready/);
    });

    it("a containerd pin the archive no longer offers fails the boot with what the archive has and where to pin", () => {
        world.archiveContainerd(["2.3.4-0ubuntu1~24.04.1", "1.7.12-0ubuntu4"]);
        const root = world.node("aura-prod-master-0", MASTER_DOC);
        const r = world.run("aura-prod-master-0", root, SCRIPT);
        assert.notEqual(r.status, 0);
        assert.equal(state(root).status, "failed");
        assert.ok(
            state(root).message.includes(`containerd ${CONTAINERD_APT_VERSION} is not in the Ubuntu archive any more (it has: 2.3.4-0ubuntu1~24.04.1 1.7.12-0ubuntu4): pin an available one in components/infra/pins.ts`),
            state(root).message,
        );
        assert.ok(!world.calls("aura-prod-master-0").some((c) => c.startsWith("apt-get ") && c.includes(" install ") && c.includes("containerd=")), "no install attempt");
    });

    it("a failed step fails the run with its state recorded, and the next run (systemd's restart) completes it", () => {
        const root = world.node("aura-prod-master-1", MASTER_DOC);
        world.write("api-up", "");
        world.putBlob("cluster-bootstrap/initialized", "initialized by aura-prod-master-0\naddress 10.240.0.4\n");
        world.write("etcd-pods", "etcd-aura-prod-master-0\n");
        world.write("serving-approved-aura-prod-master-0", "");
        world.write("etcd-members", "");
        // A transient apt failure is retried inside the run ...
        world.failNext("apt-get-update", 1);
        // ... a metadata store that stays down fails the step.
        world.failNext("blob-get", 1000);
        const first = world.run("aura-prod-master-1", root, SCRIPT);
        assert.notEqual(first.status, 0);
        assert.ok(world.calls("aura-prod-master-1").filter((c) => c.startsWith("apt-get ") && c.endsWith(" update")).length >= 2, "apt-get update retried");
        assert.deepEqual([state(root).status, state(root).step], ["failed", "secrets"]);
        assert.match(first.output, /could not download cluster-metadata\/pki\//);

        world.failNext("blob-get", 0);
        const before = world.calls("aura-prod-master-1").length;
        const second = world.run("aura-prod-master-1", root, SCRIPT);
        assert.equal(second.status, 0, second.output);
        const rerun = world.calls("aura-prod-master-1").slice(before);
        assert.ok(!rerun.some((c) => c.startsWith("apt-get ")), "finished steps are not redone");
        assert.equal(state(root).status, "done");
        assert.equal(world.read("joined"), "aura-prod-master-1\n");
    });

    it("the systemd unit restarts a failed boot with a backoff, for as long as it takes", () => {
        const root = world.node("aura-prod-master-0", MASTER_DOC);
        const unit = fs.readFileSync(path.join(root, "etc/systemd/system/aura-bootstrap.service"), "utf8");
        for (const line of ["Type=oneshot", `ExecStart=${BOOTSTRAP_SCRIPT_PATH}`, "Restart=on-failure", "RestartSec=10s", "RestartMaxDelaySec=10min", "StartLimitIntervalSec=0"]) {
            assert.ok(unit.split("\n").includes(line), `${line} missing:\n${unit}`);
        }
        const dropIn = fs.readFileSync(path.join(root, "etc/systemd/system/kubelet.service.d/05-aura-etcd-disk.conf"), "utf8");
        assert.match(dropIn, /^\[Unit\]\nRequiresMountsFor=\/var\/lib\/etcddisk\n$/);
    });

    it("an agent joins with the token the masters published, read with its own identity", () => {
        world.putBlob(JOIN_TOKEN_PATH, "q8w2e4.r6t8y0u2i4o6p8a0\n");
        world.write("api-up", "");
        const doc = renderAgentCloudInit({
            ...CLUSTER,
            pool: "common",
            caCertHash: "sha256:" + "3b".repeat(32),
            metadata: { blobEndpoint: BLOB_ENDPOINT, identityClientId: AGENT_ID },
        });
        assert.ok(!doc.includes("q8w2e4"), "no token in the agent's custom data");
        const root = world.node("prod-common-000001", doc);
        const r = world.run("prod-common-000001", root, SCRIPT, "10.240.16.5");
        assert.equal(r.status, 0, r.output);
        const join = kubeadm(world.read("join-config-prod-common-000001.yaml"), "JoinConfiguration");
        assert.equal(join.discovery.bootstrapToken.token, "q8w2e4.r6t8y0u2i4o6p8a0");
        assert.equal(kubeletArg(join, "node-labels"), "agentpool=common");
        assert.equal(kubeletArg(join, "node-ip"), "10.240.16.5");
        assert.equal(join.controlPlane, undefined);
        assert.equal(hostsEntry(root), `10.240.0.254 ${CLUSTER.apiServerHost}`, "agents use the internal load balancer");
        assert.ok(world.calls("prod-common-000001").some((c) => c === "systemctl restart aura-pod-imds-block.service"));
    });

    it("the agents' identity can read only the join token; the masters' identity cannot read what it was not given", () => {
        // The stub enforces the ACL: an agent trying the PKI container gets 403, so the same boot
        // with the agent's identity pointed at the PKI would fail.
        const doc = renderMasterCloudInit({ ...CLUSTER, metadata: { blobEndpoint: BLOB_ENDPOINT, identityClientId: AGENT_ID } });
        const root = world.node("aura-prod-master-2", doc);
        const r = world.run("aura-prod-master-2", root, SCRIPT);
        assert.notEqual(r.status, 0);
        assert.ok(world.calls("aura-prod-master-2").some((c) => /blob GET cluster-metadata\/pki\/ca\.crt as/.test(c)));
        assert.equal(state(root).step, "secrets");
        assert.ok(!world.calls("aura-prod-master-2").some((c) => c.includes("break-glass")), "no script ever reads the root kubeconfig container");
    });
});
