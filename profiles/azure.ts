// Azure facts the profile is checked against: region names and VM sizes. Kept here, in one place,
// so that a typo such as `westeruope` or `Standard_D4s_v9` is refused by `aura validate` instead of
// failing in Azure after other resources exist.
//
// How to refresh (needs the Azure CLI and a subscription; run now and then, e.g. when a profile
// needs a size that Azure has since released):
//   regions:  az account list-locations --query "[?metadata.regionType=='Physical'].name" -o tsv | sort
//             (keep the public-cloud regions; the EUAP/staging and logical ones cannot host VMs)
//   sizes:    az vm list-skus --resource-type virtualMachines --query "[].name" -o tsv | sort -u
//             then group them per series below: "#" stands for the vCPU part of the name
//             (e.g. ["D#s_v5", "2 4"] is Standard_D2s_v5 and Standard_D4s_v5; "4-2" is a
//             constrained-vCPU size such as Standard_E4-2s_v5).
// The lists were taken from Azure's SKU API output published in Azure/skewer's generated test
// data (May 2025) and Azure's region list; classic, promotional, confidential-computing and
// HPC/InfiniBand sizes are left out (they need settings this installer does not make).

/** Public Azure regions that can host VMs (`az account list-locations` names). */
export const AZURE_REGIONS: readonly string[] = [
    // Americas
    "brazilsouth", "brazilsoutheast", "canadacentral", "canadaeast", "centralus", "chilecentral", "eastus",
    "eastus2", "mexicocentral", "northcentralus", "southcentralus", "westcentralus", "westus", "westus2", "westus3",
    // Europe
    "austriaeast", "belgiumcentral", "denmarkeast", "francecentral", "francesouth", "germanynorth",
    "germanywestcentral", "italynorth", "northeurope", "norwayeast", "norwaywest", "polandcentral", "spaincentral",
    "swedencentral", "switzerlandnorth", "switzerlandwest", "uksouth", "ukwest", "westeurope",
    // Asia Pacific
    "australiacentral", "australiacentral2", "australiaeast", "australiasoutheast", "centralindia", "eastasia",
    "indonesiacentral", "japaneast", "japanwest", "jioindiacentral", "jioindiawest", "koreacentral", "koreasouth",
    "malaysiawest", "newzealandnorth", "southeastasia", "southindia", "westindia",
    // Middle East and Africa
    "israelcentral", "qatarcentral", "southafricanorth", "southafricawest", "uaecentral", "uaenorth",
];

/** VM sizes by series: [name template with "#" for the vCPU part, the vCPU parts]. */
const VM_SERIES: ReadonlyArray<readonly [string, string]> = [
    ["B#als_v2", "2 4 8 16 32"],
    ["B#as_v2", "2 4 8 16 32"],
    ["B#ats_v2", "2"],
    ["B#ls", "1"],
    ["B#ls_v2", "2 4 8 16 32"],
    ["B#ms", "1 2 4 8 12 16 20"],
    ["B#pls_v2", "2 4 8 16"],
    ["B#ps_v2", "2 4 8 16"],
    ["B#pts_v2", "2"],
    ["B#s", "1 2"],
    ["B#s_v2", "2 4 8 16 32"],
    ["B#ts_v2", "2"],
    ["D#_v2", "1 2 3 4 5 11 12 13 14 15"],
    ["D#_v3", "2 4 8 16 32 48 64"],
    ["D#_v4", "2 4 8 16 32 48 64"],
    ["D#_v5", "2 4 8 16 32 48 64 96"],
    ["D#a_v4", "2 4 8 16 32 48 64 96"],
    ["D#ads_v5", "2 4 8 16 32 48 64 96"],
    ["D#ads_v6", "2 4 8 16 32 48 64 96"],
    ["D#alds_v6", "2 4 8 16 32 48 64 96"],
    ["D#als_v6", "2 4 8 16 32 48 64 96"],
    ["D#as_v4", "2 4 8 16 32 48 64 96"],
    ["D#as_v5", "2 4 8 16 32 48 64 96"],
    ["D#as_v6", "2 4 8 16 32 48 64 96"],
    ["D#d_v4", "2 4 8 16 32 48 64"],
    ["D#d_v5", "2 4 8 16 32 48 64 96"],
    ["D#ds_v4", "2 4 8 16 32 48 64"],
    ["D#ds_v5", "2 4 8 16 32 48 64 96"],
    ["D#ds_v6", "2 4 8 16 32 48 64 96 128 192"],
    ["D#lds_v5", "2 4 8 16 32 48 64 96"],
    ["D#lds_v6", "2 4 8 16 32 48 64 96 128"],
    ["D#ls_v5", "2 4 8 16 32 48 64 96"],
    ["D#ls_v6", "2 4 8 16 32 48 64 96 128"],
    ["D#pds_v5", "2 4 8 16 32 48 64"],
    ["D#pds_v6", "2 4 8 16 32 48 64 96"],
    ["D#plds_v5", "2 4 8 16 32 48 64"],
    ["D#plds_v6", "2 4 8 16 32 48 64 96"],
    ["D#pls_v5", "2 4 8 16 32 48 64"],
    ["D#pls_v6", "2 4 8 16 32 48 64 96"],
    ["D#ps_v5", "2 4 8 16 32 48 64"],
    ["D#ps_v6", "2 4 8 16 32 48 64 96"],
    ["D#s_v3", "2 4 8 16 32 48 64"],
    ["D#s_v4", "2 4 8 16 32 48 64"],
    ["D#s_v5", "2 4 8 16 32 48 64 96"],
    ["D#s_v6", "2 4 8 16 32 48 64 96 128 192"],
    ["DS#_v2", "1 2 3 4 5 11 11-1 12 12-1 12-2 13 13-2 13-4 14 14-4 14-8 15"],
    ["E#_v3", "2 4 8 16 20 32 48 64"],
    ["E#_v4", "2 4 8 16 20 32 48 64"],
    ["E#_v5", "2 4 8 16 20 32 48 64 96"],
    ["E#a_v4", "2 4 8 16 20 32 48 64 96"],
    ["E#ads_v5", "2 4 4-2 8 8-2 8-4 16 16-4 16-8 20 32 32-16 32-8 48 64 64-16 64-32 96 96-24 96-48"],
    ["E#ads_v6", "2 4 8 16 20 32 48 64 96 96-24 96-48"],
    ["E#as_v4", "2 4 4-2 8 8-2 8-4 16 16-4 16-8 20 32 32-16 32-8 48 64 64-16 64-32 96 96-24 96-48"],
    ["E#as_v5", "2 4 4-2 8 8-2 8-4 16 16-4 16-8 20 32 32-16 32-8 48 64 64-16 64-32 96 96-24 96-48"],
    ["E#as_v6", "2 4 8 16 20 32 48 64 96"],
    ["E#bds_v5", "2 4 8 16 32 48 64 96"],
    ["E#bs_v5", "2 4 8 16 32 48 64 96"],
    ["E#d_v4", "2 4 8 16 20 32 48 64"],
    ["E#d_v5", "2 4 8 16 20 32 48 64 96"],
    ["E#ds_v4", "2 4 4-2 8 8-2 8-4 16 16-4 16-8 20 32 32-16 32-8 48 64 64-16 64-32"],
    ["E#ds_v5", "2 4 4-2 8 8-2 8-4 16 16-4 16-8 20 32 32-16 32-8 48 64 64-16 64-32 96 96-24 96-48"],
    ["E#ds_v6", "2 4 4-2 8 8-2 8-4 16 16-4 16-8 20 32 32-16 32-8 48 64 64-16 64-32 96 96-24 96-48"],
    ["E#i_v3", "64"],
    ["E#i_v5", "104"],
    ["E#iads_v5", "112"],
    ["E#ias_v4", "96"],
    ["E#ias_v5", "112"],
    ["E#ibds_v5", "112"],
    ["E#ibs_v5", "112"],
    ["E#id_v5", "104"],
    ["E#ids_v4", "80"],
    ["E#ids_v5", "104"],
    ["E#is_v3", "64"],
    ["E#is_v4", "80"],
    ["E#is_v5", "104"],
    ["E#pds_v5", "2 4 8 16 20 32"],
    ["E#pds_v6", "2 4 8 16 32 48 64 96"],
    ["E#ps_v5", "2 4 8 16 20 32"],
    ["E#ps_v6", "2 4 8 16 32 48 64 96"],
    ["E#s_v3", "2 4 4-2 8 8-2 8-4 16 16-4 16-8 20 32 32-16 32-8 48 64 64-16 64-32"],
    ["E#s_v4", "2 4 4-2 8 8-2 8-4 16 16-4 16-8 20 32 32-16 32-8 48 64 64-16 64-32"],
    ["E#s_v5", "2 4 4-2 8 8-2 8-4 16 16-4 16-8 20 32 32-16 32-8 48 64 64-16 64-32 96 96-24 96-48"],
    ["E#s_v6", "2 4 4-2 8 8-2 8-4 16 16-4 16-8 20 32 32-16 32-8 48 64 64-16 64-32 96 96-24 96-48"],
    ["F#als_v6", "2 4 8 16 32 48 64"],
    ["F#ams_v6", "2 4 8 16 32 48 64"],
    ["F#as_v6", "2 4 8 16 32 48 64"],
    ["F#s_v2", "2 4 8 16 32 48 64 72"],
    ["FX#mds", "4 12 24 36 48"],
    ["L#as_v3", "8 16 32 48 64 80"],
    ["L#s", "4 8 16 32"],
    ["L#s_v2", "8 16 32 48 64 80"],
    ["L#s_v3", "8 16 32 48 64 80"],
    ["M#", "64 128"],
    ["M#bds_1_v3", "64 64-32"],
    ["M#bds_2_v3", "96 96-48"],
    ["M#bds_3_v3", "128 128-64"],
    ["M#bds_4_v3", "176 176-88"],
    ["M#bds_v3", "16 32 48 64 96 128 128-64 176 176-88"],
    ["M#bs_v3", "16 32 48 64 96 128 128-64 176 176-88"],
    ["M#dms_v2", "32 64 128"],
    ["M#ds_1_v3", "48 96"],
    ["M#ds_12_v3", "624 832"],
    ["M#ds_2_v3", "96"],
    ["M#ds_3_v3", "176"],
    ["M#ds_4_v3", "176"],
    ["M#ds_6_v3", "416"],
    ["M#ds_8_v3", "416"],
    ["M#ds_v2", "64 128"],
    ["M#ds_v3", "12 24"],
    ["M#idms_v2", "192"],
    ["M#ids_16_v3", "832"],
    ["M#ids_v2", "192"],
    ["M#ims_v2", "192"],
    ["M#is_16_v3", "832"],
    ["M#is_v2", "192"],
    ["M#ls", "32 64"],
    ["M#m", "64 128"],
    ["M#ms", "8 8-2 8-4 16 16-4 16-8 32 32-16 32-8 64 64-16 64-32 128 128-32 128-64"],
    ["M#ms_v2", "32 64 128 208 416 416-208"],
    ["M#s", "64 128"],
    ["M#s_1_v3", "48 96"],
    ["M#s_10_v2", "416"],
    ["M#s_12_v3", "624 832"],
    ["M#s_2_v3", "96"],
    ["M#s_3_v3", "176"],
    ["M#s_4_v3", "176"],
    ["M#s_6_v3", "416"],
    ["M#s_8_v2", "416"],
    ["M#s_8_v3", "416"],
    ["M#s_9_v2", "416"],
    ["M#s_v2", "64 128 208 416 416-208"],
    ["M#s_v3", "12 24"],
    ["M#ts", "32"],
    ["NC#adis_H100_v5", "80"],
    ["NC#ads_A10_v4", "8 16 32"],
    ["NC#ads_A100_v4", "24 48 96"],
    ["NC#ads_H100_v5", "40"],
    ["NC#as_T4_v3", "4 8 16 64"],
    ["NC#rs_v3", "24"],
    ["NC#s_v3", "6 12 24"],
    ["NCC#ads_H100_v5", "40"],
    ["ND#amsr_A100_v4", "96"],
    ["ND#asr_v4", "96"],
    ["ND#is_MI300X_v5", "96"],
    ["ND#isr_H100_v5", "96"],
    ["ND#isr_H200_v5", "96"],
    ["ND#isr_MI300X_v5", "96"],
    ["ND#rs_v2", "40"],
    ["ND#s_v3", "40"],
    ["NG#adms_V620_v1", "32"],
    ["NG#ads_V620_v1", "8 16 32"],
    ["NV#adms_A10_v5", "36"],
    ["NV#adms_V710_v5", "28"],
    ["NV#ads_A10_v5", "6 12 18 36 72"],
    ["NV#ads_V710_v5", "4 8 12 24"],
    ["NV#as_v4", "4 8 16 32"],
    ["NV#s_v2", "6 12 24"],
    ["NV#s_v3", "12 24 48"],
];

/** Every known VM size name, e.g. Standard_D4s_v5. */
export const AZURE_VM_SIZES: ReadonlySet<string> = new Set(
    VM_SERIES.flatMap(([template, parts]) => parts.split(" ").map((part) => `Standard_${template.replace("#", part)}`)),
);

/**
 * Series that run only Generation 1 (BIOS) VMs, from Microsoft's table of Generation 2 support
 * ("Support for generation 2 VMs on Azure"), with the twin series that runs Generation 2 images.
 */
const GEN1_ONLY_SERIES: ReadonlyArray<readonly [string, string]> = [
    ["D#_v2", "DS#_v2"],
    ["D#_v3", "D#s_v3"],
    ["E#_v3", "E#s_v3"],
];

/** The size's vCPU part and the rest of its name as a series template (Standard_D4s_v5 → ["4", "D#s_v5"]). */
function seriesOf(size: string): [string, string] | undefined {
    const m = /^Standard_([A-Z]+)(\d+(?:-\d+)?)(.*)$/.exec(size);
    return m ? [m[2], `${m[1]}#${m[3]}`] : undefined;
}

/**
 * Why the nodes cannot boot on a known size, with the size to use instead; undefined when they can.
 * Every node boots Ubuntu's x64 Generation 2 image (components/infra/pins.ts): an Arm64 size (a `p`
 * among the feature letters after the vCPU count, Azure's naming: Standard_D4ps_v5) cannot start
 * it, and neither can a Generation 1-only series.
 */
export function unbootableSize(size: string): { why: string; instead?: string } | undefined {
    const series = seriesOf(size);
    if (!series) return undefined;
    const [cpus, template] = series;
    const twin = (t: string) => {
        const name = `Standard_${t.replace("#", cpus)}`;
        return AZURE_VM_SIZES.has(name) ? name : undefined;
    };
    const features = /^[A-Z]+#([a-z]*)/.exec(template)?.[1] ?? "";
    if (features.includes("p")) {
        return { why: `is an Arm64 size (the "p" in its name): the nodes boot Ubuntu's x64 image`, instead: twin(template.replace(/^([A-Z]+#[a-z]*?)p/, "$1")) };
    }
    const gen1 = GEN1_ONLY_SERIES.find(([t]) => t === template);
    if (gen1) return { why: `runs only Generation 1 VMs: the nodes boot Ubuntu's Generation 2 image`, instead: twin(gen1[1]) };
    return undefined;
}

/** Sizes of a series that otherwise has both controllers, offered with NVMe disks only (Microsoft's Ebsv5 page). */
const NVME_ONLY_SIZES = new Set(["Standard_E112ibs_v5", "Standard_E112ibds_v5"]);

/**
 * Whether a size attaches managed data disks over NVMe only: the v6 generation and newer ("Da/Ea/
 * Fav6 and newer typically support only the NVMe storage interface", Microsoft's NVMe FAQ; the
 * Azure VM utilities test Intel v6 sizes as NVMe-only too), and a few named sizes.
 */
export function nvmeOnly(size: string): boolean {
    const generation = /_v(\d+)$/.exec(size);
    return NVME_ONLY_SIZES.has(size) || (generation !== null && Number(generation[1]) >= 6);
}

/**
 * Why a size cannot be a master's, beyond booting; undefined when it can. A master keeps etcd on a
 * managed data disk that its boot finds at SCSI LUN 0 (/dev/disk/azure/scsi1/lun0): on an NVMe-only
 * size that path does not exist (the disk is an NVMe namespace), and the boot would wait for it in
 * vain. Agents have no data disk: any bootable size serves them.
 */
export function masterSizeProblem(size: string): string | undefined {
    // A size the nodes cannot boot at all is refused for that already.
    if (!nvmeOnly(size) || unbootableSize(size)) return undefined;
    const v5 = size.replace(/_v\d+$/, "_v5");
    const instead = AZURE_VM_SIZES.has(v5) && !nvmeOnly(v5) && !unbootableSize(v5) ? v5 : "Standard_D4s_v5";
    return `attaches data disks over NVMe only, and a master keeps etcd on a data disk it finds on the SCSI controller (LUN 0): use a size with SCSI disks for the masters, such as ${instead} (agent pools may use ${size})`;
}

let bootable: ReadonlySet<string> | undefined;

/** The known sizes the nodes can boot on (built on first use: only a refused size needs the list). */
export function bootableVmSizes(): ReadonlySet<string> {
    bootable ??= new Set([...AZURE_VM_SIZES].filter((s) => !unbootableSize(s)));
    return bootable;
}
