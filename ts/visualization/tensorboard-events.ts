// The TensorBoard `Event` protos Anvil writes, encoded by hand (field numbers from TensorBoard's
// event.proto, summary.proto, tensor.proto and tensor_shape.proto):
//   Event { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5;
//           SourceMetadata source_metadata = 10 { string writer = 1 } }
//   Summary { repeated Value value = 1 }
//   Value { string tag = 1; float simple_value = 2; Image image = 4; TensorProto tensor = 8;
//           SummaryMetadata metadata = 9 }
//   Image { int32 height = 1; int32 width = 2; int32 colorspace = 3; bytes encoded_image_string = 4 }
//   SummaryMetadata { PluginData plugin_data = 1 { string plugin_name = 1; bytes content = 2 } }
//   TensorProto { DataType dtype = 1; TensorShapeProto tensor_shape = 2; repeated bytes string_val = 8 }
//   TensorShapeProto { repeated Dim dim = 2 { int64 size = 1 } }

import { ProtoWriter } from './protobuf';

/** tensorflow.DataType DT_STRING. */
const DT_STRING = 7;

function event(wallTime: number, step: number): ProtoWriter {
  const e = new ProtoWriter().double(1, wallTime);
  // proto3 leaves a zero step out, as TensorBoard's own writer does.
  if (step !== 0) e.varint(2, Math.trunc(step));
  return e;
}

function summaryEvent(wallTime: number, step: number, value: ProtoWriter): Uint8Array {
  return event(wallTime, step).message(5, new ProtoWriter().message(1, value)).finish();
}

/** The first record of every event file: `file_version = "brain.Event:2"`. */
export function fileVersionEvent(wallTime: number, writer: string): Uint8Array {
  return new ProtoWriter()
    .double(1, wallTime)
    .string(3, 'brain.Event:2')
    .message(10, new ProtoWriter().string(1, writer))
    .finish();
}

/** A scalar as `Summary.Value.simple_value` (float32, as TensorBoard stores it). */
export function scalarEvent(tag: string, value: number, step: number, wallTime: number): Uint8Array {
  return summaryEvent(wallTime, step, new ProtoWriter().string(1, tag).float(2, value));
}

/** An image summary: a PNG with its height, width and colour space (1 gray, 3 RGB, 4 RGBA). */
export function imageEvent(tag: string, png: Uint8Array, height: number, width: number, colorspace: number, step: number, wallTime: number): Uint8Array {
  const image = new ProtoWriter().varint(1, height).varint(2, width).varint(3, colorspace).bytes(4, png);
  return summaryEvent(wallTime, step, new ProtoWriter().string(1, tag).message(4, image));
}

/**
 * A text summary as TensorBoard's text plugin reads it (torch's `add_text`): tag
 * `<tag>/text_summary`, plugin `text`, a one-element string tensor.
 */
export function textEvent(tag: string, text: string, step: number, wallTime: number): Uint8Array {
  // TextPluginData { int32 version = 1 } with version 0 encodes to no bytes.
  const metadata = new ProtoWriter().message(1, new ProtoWriter().string(1, 'text').bytes(2, new Uint8Array(0)));
  const tensor = new ProtoWriter()
    .varint(1, DT_STRING)
    .message(2, new ProtoWriter().message(2, new ProtoWriter().varint(1, 1)))
    .string(8, text);
  return summaryEvent(wallTime, step, new ProtoWriter().string(1, `${tag}/text_summary`).message(9, metadata).message(8, tensor));
}
