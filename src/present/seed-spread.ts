/**
 * The seed spread the dashboard page draws (a group's mean curve and its ± std band): the one
 * definition of mean and sample std (src/analysis/descriptive.ts), handed to the page through the
 * presentation wing, the only wing the webview may import.
 */
export { mean, sampleStd } from '../analysis/descriptive';
