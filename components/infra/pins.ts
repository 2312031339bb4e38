// What every node is built from, pinned in one place and changed on purpose (a change here shows in
// the plan diff of a pull request). No Pulumi imports: the cloud-init renderer uses these too.

/**
 * The OS image of every node: Ubuntu 24.04 LTS (Gen2), an exact image version. Masters keep the
 * image they were created with (`ignoreChanges`); scale sets roll to a new one instance by instance.
 */
export const NODE_IMAGE = {
    publisher: "Canonical",
    offer: "ubuntu-24_04-lts",
    sku: "server",
    version: "24.04.202508010",
} as const;

/**
 * containerd from the Ubuntu archive, the 2.2 line Ubuntu 24.04 ships since it left 1.7 (whose
 * upstream support ended in 2026); Kubernetes 1.33 supports it (containerd's RELEASES.md: 2.1.0+).
 * The upstream version is pinned, Ubuntu's rebuild number
 * (`~24.04.N`, security fixes) may float, because the archive keeps only the newest build of each
 * pocket and an exact pin would stop new nodes from installing at all. Ubuntu also moves the
 * upstream version within 24.04 (1.7.12 → 1.7.24 → 1.7.28 → 2.2.1 in noble-updates); once no pocket
 * offers a build this pin matches, a boot stops at its first step and says which builds the archive
 * has (lib.sh, containerd_version_available): pin one of them here.
 */
export const CONTAINERD_APT_VERSION = "2.2.1-0ubuntu1~24.04.*";

/**
 * The etcd data disk of each master, as Cluster API Provider Azure sizes it: 256 GB Premium SSD
 * (P15: 1,100 IOPS, 125 MB/s; IOPS grow with size on Premium SSD), no host caching (etcd fsyncs
 * every write; caching only adds latency).
 */
export const ETCD_DISK_SPEC = {
    diskSizeGB: 256,
    storageAccountType: "Premium_LRS",
    caching: "None",
} as const;
