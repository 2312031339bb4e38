// Pod annotations that change when the secret values a pod reads at start change (and so restart
// it), without revealing them: an HMAC-SHA-256 under a key the stack keeps secret in its state. A
// plain hash of a secret would let anyone holding the plan test a guess of it offline; the keyed
// one reveals nothing without the key, so it is shown (and diffed) in plain text and a reviewer
// sees the restart.
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

/** The key of a stage's checksums: a random value created once and kept (secret) in the state. */
export function createChecksumKey(name: string, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    return new random.RandomPassword(name, { length: 32, special: false }, opts).result;
}

/** The HMAC of `data` (as JSON) under `key`, in plain text. */
export function keyedChecksum(key: pulumi.Input<string>, data: pulumi.Input<unknown>): pulumi.Output<string> {
    return pulumi.unsecret(
        pulumi.all([key, data]).apply(([k, d]) => crypto.createHmac("sha256", k).update(JSON.stringify(d)).digest("hex")),
    );
}
