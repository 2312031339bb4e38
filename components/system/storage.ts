// Persistent volumes: the Azure Disk CSI driver (it reads the cloud config Secret) and the default
// StorageClass on Managed Disks. `WaitForFirstConsumer` creates a disk only once its pod is
// scheduled, so the disk lands in the pod's zone; volumes may grow.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { pinnedChart } from "./charts";
import { CLOUD_CONFIG_SECRET } from "./cloudConfig";
import { PLATFORM_LABELS } from "./namespaces";

/** The CSI driver's name (chart value driver.name). */
export const AZURE_DISK_PROVISIONER = "disk.csi.azure.com";

/**
 * StandardSSD_LRS attaches to every VM size a pool may use (Premium_LRS needs premium-capable
 * sizes, which the profile does not enforce).
 */
export const DISK_SKU = "StandardSSD_LRS";

export interface StorageArgs {
    /** Name of the default StorageClass. */
    storageClassName: string;
    /** Checksum of the cloud config: restarts the CSI controller when the credentials change. */
    cloudConfigChecksum: pulumi.Input<string>;
    /** What the objects wait for (gate, cloud config, CNI, cloud provider). */
    dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** Values of chart 1.34.5 (charts/v1.34.5/azuredisk-csi-driver/values.yaml). */
export function azureDiskValues(cloudConfigChecksum: pulumi.Input<string>): Record<string, unknown> {
    return {
        controller: {
            cloudConfigSecretName: CLOUD_CONFIG_SECRET.name,
            cloudConfigSecretNamespace: CLOUD_CONFIG_SECRET.namespace,
            // On the masters, like the other cluster controllers: volumes work before any pool has a node.
            runOnControlPlane: true,
            // The controller reads the credentials at start only.
            podAnnotations: { "checksum/cloud-config": cloudConfigChecksum },
        },
        node: {
            cloudConfigSecretName: CLOUD_CONFIG_SECRET.name,
            cloudConfigSecretNamespace: CLOUD_CONFIG_SECRET.namespace,
        },
        // Linux nodes only.
        windows: { enabled: false },
    };
}

/** The default StorageClass. */
export function storageClass(name: string): k8s.types.input.storage.v1.StorageClass {
    return {
        apiVersion: "storage.k8s.io/v1",
        kind: "StorageClass",
        metadata: {
            name,
            annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
            labels: { ...PLATFORM_LABELS },
        },
        provisioner: AZURE_DISK_PROVISIONER,
        parameters: { skuName: DISK_SKU },
        reclaimPolicy: "Delete",
        volumeBindingMode: "WaitForFirstConsumer",
        allowVolumeExpansion: true,
    };
}

export class Storage extends pulumi.ComponentResource {
    readonly chart: k8s.helm.v4.Chart;
    readonly storageClass: k8s.storage.v1.StorageClass;

    constructor(name: string, args: StorageArgs, opts: pulumi.ComponentResourceOptions & { provider: k8s.Provider }) {
        super("aura:system:Storage", name, {}, opts);
        const child = { parent: this, provider: opts.provider };
        this.chart = pinnedChart(`${name}-azuredisk`, {
            chart: "azureDiskCsi",
            namespace: "kube-system",
            values: azureDiskValues(args.cloudConfigChecksum),
        }, { ...child, dependsOn: args.dependsOn });
        this.storageClass = new k8s.storage.v1.StorageClass(`${name}-class`, storageClass(args.storageClassName), { ...child, dependsOn: [...args.dependsOn, this.chart] });
        this.registerOutputs({});
    }
}
