// The Aura policy pack: `pulumi preview --policy-pack policy` (or `pulumi up --policy-pack policy`)
// checks every resource of a stack against the platform's invariants (policies.ts).
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("aura-platform", { policies, enforcementLevel: "mandatory" });
