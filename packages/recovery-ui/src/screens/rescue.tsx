import type { RescueTarget } from "@lifeboat/reset";
import { Text } from "ink";
import { useUi } from "../ui.js";
import { Frame, Toned } from "../widgets/frame.js";
import { TextInput } from "../widgets/text-input.js";

/**
 * Where to save the files: a folder on the USB drive, typed; Enter measures
 * it (space needed against space available), Enter again with the same
 * folder goes on.
 */
export function RescueScreen(props: {
  neededBytes: number | undefined;
  target: RescueTarget | undefined;
  problem: string | undefined;
  initial?: string;
  onSubmit: (directory: string) => void;
  onBack: () => void;
}) {
  const { t } = useUi();
  const enough =
    props.target !== undefined &&
    (props.neededBytes === undefined || props.target.freeBytes >= props.neededBytes);
  return (
    <Frame title={t.rescueTitle} keys={t.rescueKeys}>
      <Text>
        {t.rescueNeeded(props.neededBytes === undefined ? "?" : t.bytes(props.neededBytes))}
      </Text>
      {props.target ? (
        <Toned tone={enough ? "ok" : "bad"}>
          {t.rescueAvailable(t.bytes(props.target.freeBytes))}
        </Toned>
      ) : null}
      {props.problem ? <Toned tone="bad">{props.problem}</Toned> : null}
      <Text>{t.rescuePrompt}</Text>
      <TextInput
        {...(props.initial ? { initial: props.initial } : {})}
        onSubmit={props.onSubmit}
        onCancel={props.onBack}
      />
    </Frame>
  );
}
