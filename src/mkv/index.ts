export {
  ID,
  MkvError,
  UNKNOWN,
  children,
  encodeId,
  encodeSize,
  readElementHeader,
  readId,
  readSize,
  readUint,
} from './ebml.js';
export type { Child, ElementHeader, Vint } from './ebml.js';
export { MkvReader } from './reader.js';
export type { FrameEvent, MkvEvent, TrackEntryInfo, TrackHeader } from './mkvEvents.js';
export {
  UNKNOWN_SIZE_SEGMENT_HEADER,
  element,
  kvsTags,
  matroskaEbmlHeader,
  stringElement,
  uintElement,
} from './writer.js';
