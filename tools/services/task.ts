/** The steps of a deno.json task, as arguments after `deno` (tests and tools start them). */

const REPO = new URL("../../", import.meta.url);

/** Every `deno ...` step of `task` (steps joined by `&&`), each as arguments after `deno`. */
export async function taskSteps(task: string): Promise<string[][]> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", REPO)));
  const line = config.tasks?.[task];
  if (typeof line !== "string") throw new Error(`deno.json has no task ${task}`);
  return line.split("&&").map((step) => {
    const words = step.trim().split(/\s+/);
    if (words[0] !== "deno") throw new Error(`task ${task} has a step that is not deno: ${step}`);
    return words.slice(1);
  });
}

/** The `deno ...` command of a task's last step, as arguments after `deno`. */
export async function taskArgs(task: string): Promise<string[]> {
  return (await taskSteps(task)).at(-1)!;
}
