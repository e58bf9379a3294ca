/**
 * Detection and miscellaneous OpenVINO ops: box priors, non-maximum
 * suppression, YOLO regions, and ops ONNX spells differently (Roll, GridSample...).
 */
import { registerTranslators } from '../translation';

registerTranslators({});
