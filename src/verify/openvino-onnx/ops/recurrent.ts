/**
 * Recurrent OpenVINO ops: the *Sequence ops and their single-step *Cell forms.
 */
import { registerTranslators } from '../translation';

registerTranslators({});
