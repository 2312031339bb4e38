// Every third-party Helm chart the platform installs, pinned in one place with the reason it was
// chosen. Upgrading one is a one-line change here, reviewed in the plan diff of a pull request.
// No Bitnami charts: since August 2025 the Bitnami catalog publishes no free versioned images.

/** One pinned upstream chart. */
export interface ChartPin {
    /** Chart name in its repository. */
    chart: string;
    /** Exact chart version (never a range): the plan shows it, a change is a reviewed diff. */
    version: string;
    /** The chart repository URL (or an OCI reference in `chart`, with `repo` empty). */
    repo: string;
    /** Why this chart, in one line. */
    why: string;
}

/** The pinned charts by the key the stages use. */
export const CHARTS = {
} as const satisfies Record<string, ChartPin>;

export type ChartKey = keyof typeof CHARTS;
