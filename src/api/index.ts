/** Every operation kvsd serves, routed by POST path. */
import type { Operation } from './operation.js';
import { createStream } from './createStream.js';
import { describeStream } from './describeStream.js';
import { listStreams } from './listStreams.js';
import { deleteStream } from './deleteStream.js';
import { updateStream } from './updateStream.js';
import { updateDataRetention } from './updateDataRetention.js';
import { tagStream } from './tagStream.js';
import { untagStream } from './untagStream.js';
import { listTagsForStream } from './listTagsForStream.js';
import { getDataEndpoint } from './getDataEndpoint.js';
import { putMedia } from './putMedia.js';
import { listFragments } from './listFragments.js';
import { getMediaForFragmentList } from './getMediaForFragmentList.js';
import { getMedia } from './getMedia.js';
import { getHLSStreamingSessionURL } from './getHLSStreamingSessionURL.js';
import { getDASHStreamingSessionURL } from './getDASHStreamingSessionURL.js';
import { getClip } from './getClip.js';

export const operations: Operation[] = [
  createStream,
  describeStream,
  listStreams,
  deleteStream,
  updateStream,
  updateDataRetention,
  tagStream,
  untagStream,
  listTagsForStream,
  getDataEndpoint,
  putMedia,
  listFragments,
  getMediaForFragmentList,
  getMedia,
  getHLSStreamingSessionURL,
  getDASHStreamingSessionURL,
  getClip,
];

export type { Operation, Context, ServerInfo } from './operation.js';
