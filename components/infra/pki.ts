// The cluster PKI, generated in Pulumi state as secrets: the three kubeadm CAs, the service-account
// key pair and the root (break-glass) admin client certificate. Join tokens are not here: the
// masters mint short-lived ones in the cluster (see cloudinit.ts), so none sits in state.
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";

const CA_VALIDITY_HOURS = 10 * 365 * 24;
const ADMIN_VALIDITY_HOURS = 365 * 24;

/** A CA key and certificate, both PEM. */
export interface KeyPair {
    certPem: pulumi.Output<string>;
    keyPem: pulumi.Output<string>;
}

/**
 * kubeadm's `--discovery-token-ca-cert-hash`: `sha256:` and the hex SHA-256 of the CA's
 * DER-encoded SubjectPublicKeyInfo.
 */
export function caCertHash(publicKeyPem: string): string {
    const spki = crypto.createPublicKey(publicKeyPem).export({ type: "spki", format: "der" });
    return `sha256:${crypto.createHash("sha256").update(spki).digest("hex")}`;
}

export interface PkiArgs {
    /** Certificate subject organization, e.g. the environment name. */
    clusterName: string;
}

export class Pki extends pulumi.ComponentResource {
    readonly clusterCa: KeyPair;
    readonly etcdCa: KeyPair;
    readonly frontProxyCa: KeyPair;
    readonly serviceAccountKey: pulumi.Output<string>;
    readonly serviceAccountPub: pulumi.Output<string>;
    /** The root admin client certificate (group system:masters): the runbook's node and system tasks and break-glass. */
    readonly admin: KeyPair;
    readonly caCertHash: pulumi.Output<string>;

    constructor(name: string, args: PkiArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aura:infra:Pki", name, {}, opts);
        const parent = { parent: this };

        const key = (suffix: string) =>
            new tls.PrivateKey(`${name}-${suffix}-key`, { algorithm: "RSA", rsaBits: 2048 }, { ...parent, additionalSecretOutputs: ["privateKeyPem"] });
        const ca = (suffix: string, commonName: string): { pair: KeyPair; key: tls.PrivateKey } => {
            const k = key(suffix);
            const cert = new tls.SelfSignedCert(`${name}-${suffix}`, {
                privateKeyPem: k.privateKeyPem,
                isCaCertificate: true,
                subject: { commonName, organization: args.clusterName },
                validityPeriodHours: CA_VALIDITY_HOURS,
                allowedUses: ["cert_signing", "crl_signing", "digital_signature", "key_encipherment"],
            }, parent);
            return { pair: { certPem: cert.certPem, keyPem: pulumi.secret(k.privateKeyPem) }, key: k };
        };

        const cluster = ca("ca", "kubernetes");
        this.clusterCa = cluster.pair;
        this.etcdCa = ca("etcd-ca", "etcd-ca").pair;
        this.frontProxyCa = ca("front-proxy-ca", "front-proxy-ca").pair;
        this.caCertHash = cluster.key.publicKeyPem.apply(caCertHash);

        const sa = key("sa");
        this.serviceAccountKey = pulumi.secret(sa.privateKeyPem);
        this.serviceAccountPub = sa.publicKeyPem;

        const adminKey = key("admin");
        const adminCsr = new tls.CertRequest(`${name}-admin-csr`, {
            privateKeyPem: adminKey.privateKeyPem,
            subject: { commonName: "aura:root-admin", organization: "system:masters" },
        }, parent);
        const adminCert = new tls.LocallySignedCert(`${name}-admin`, {
            certRequestPem: adminCsr.certRequestPem,
            caPrivateKeyPem: cluster.pair.keyPem,
            caCertPem: cluster.pair.certPem,
            validityPeriodHours: ADMIN_VALIDITY_HOURS,
            earlyRenewalHours: 30 * 24,
            allowedUses: ["digital_signature", "key_encipherment", "client_auth"],
        }, parent);
        this.admin = { certPem: adminCert.certPem, keyPem: pulumi.secret(adminKey.privateKeyPem) };

        this.registerOutputs({ caCertHash: this.caCertHash });
    }
}

/** The root kubeconfig: cluster CA, API endpoint and the admin client certificate. A secret. */
export function adminKubeconfig(args: {
    clusterName: string;
    server: pulumi.Input<string>;
    caCertPem: pulumi.Input<string>;
    admin: KeyPair;
}): pulumi.Output<string> {
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    return pulumi.secret(
        pulumi.all([args.server, args.caCertPem, args.admin.certPem, args.admin.keyPem]).apply(([server, ca, cert, key]) =>
            JSON.stringify(
                {
                    apiVersion: "v1",
                    kind: "Config",
                    clusters: [{ name: args.clusterName, cluster: { server, "certificate-authority-data": b64(ca) } }],
                    users: [{ name: `${args.clusterName}-root`, user: { "client-certificate-data": b64(cert), "client-key-data": b64(key) } }],
                    contexts: [{ name: args.clusterName, context: { cluster: args.clusterName, user: `${args.clusterName}-root` } }],
                    "current-context": args.clusterName,
                },
                null,
                2,
            ),
        ),
    );
}
